// `tether logs`: the daemon's log file (--log-file) and its rotated
// predecessors, oldest first, as lines a person reads; -f follows new lines.
import { open, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import { LOG_LEVELS } from '../config.js';
import { LOG_FILES } from '../process/log.js';

/** pino's numbers for its level names. */
const LEVEL_NUMBERS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const LEVEL_NAMES = Object.fromEntries(Object.entries(LEVEL_NUMBERS).map(([name, n]) => [n, name]));
const FOLLOW_POLL_MS = 250;

/** One JSON line as a person reads it, or undefined when below the level. */
export function formatLine(line: string, minimum: number, json: boolean): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trim() === '' ? undefined : line;
  }
  if (typeof entry['level'] === 'number' && entry['level'] < minimum) return undefined;
  if (json) return line;
  const { time, level, msg, pid: _pid, hostname: _host, driver: _driver, ...rest } = entry;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const name = (LEVEL_NAMES[Number(level)] ?? String(level)).toUpperCase().padEnd(5);
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [when, name, msg, ...fields].join(' ');
}

async function print(text: string, minimum: number, json: boolean): Promise<void> {
  for (const line of text.split('\n')) {
    const shown = formatLine(line, minimum, json);
    if (shown !== undefined) console.log(shown);
  }
}

/** Prints what is appended to the file from `from` on, forever; starts again at 0 when the file is rotated. */
async function follow(file: string, from: number, minimum: number, json: boolean): Promise<never> {
  const identity = () =>
    stat(file).then(
      ({ size, ino }) => ({ size, ino }),
      () => ({ size: 0, ino: 0 }),
    );
  let offset = from;
  let partial = '';
  let inode = (await identity()).ino;
  for (;;) {
    await sleep(FOLLOW_POLL_MS);
    const { size, ino } = await identity();
    // A new file under the name (rotated), or one cut shorter: read it from its start.
    if (ino !== inode || size < offset) offset = 0;
    inode = ino;
    if (size === offset) continue;
    const handle = await open(file, 'r');
    const buffer = Buffer.alloc(size - offset);
    await handle.read(buffer, 0, buffer.length, offset);
    await handle.close();
    offset = size;
    const text = partial + buffer.toString();
    const end = text.lastIndexOf('\n');
    partial = text.slice(end + 1);
    await print(text.slice(0, end + 1), minimum, json);
  }
}

export function addLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("the daemon's log file (tether serve --log-file), oldest line first")
    .addOption(
      new Option('--log-file <path>', 'the log file the daemon writes')
        .env('TETHER_LOG_FILE')
        .default('/var/lib/tether/tether.log'),
    )
    .addOption(new Option('--level <level>', 'only this level and above').choices(LOG_LEVELS).default('trace'))
    .option('-f, --follow', 'keep printing new lines')
    .option('--json', 'the JSON lines as written')
    .action(async (options: { logFile: string; level: string; follow?: boolean; json?: boolean }) => {
      const minimum = LEVEL_NUMBERS[options.level] ?? 0;
      const json = options.json ?? false;
      const rotated = Array.from({ length: LOG_FILES }, (_, i) => `${options.logFile}.${LOG_FILES - i}`);
      for (const file of rotated) await print(await readFile(file, 'utf8').catch(() => ''), minimum, json);
      const current = await readFile(options.logFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' && !options.follow) {
          throw new Error(`no log at ${options.logFile}: start tether serve with --log-file, or give --log-file`);
        }
        return '';
      });
      await print(current, minimum, json);
      if (options.follow) await follow(options.logFile, Buffer.byteLength(current), minimum, json);
    });
}
