// The daemon's log: JSON lines on stdout, and with --log-file also into a
// file rotated by size (the newest LOG_FILES kept), which `tether logs` reads.
// A managed plugin's stdout is mixed into dockerd's log; the file is its own.
import { basename, dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import { createStream } from 'rotating-file-stream';
import { RecentProblems } from './recent-problems.js';

/** Each file grows to this size before it is rotated (tether.log -> tether.log.1 -> ...). */
export const LOG_FILE_SIZE = '10M';
/** Rotated files kept besides the current one. */
export const LOG_FILES = 4;

/** The log, with its last warnings and errors kept for the dashboard. */
export function createLogger(options: { level: string; name: string; file?: string }): {
  log: Logger;
  problems: RecentProblems;
  close: () => Promise<void>;
} {
  const base = { driver: options.name };
  const problems = new RecentProblems();
  const file =
    options.file &&
    createStream(basename(options.file), {
      path: dirname(options.file),
      size: LOG_FILE_SIZE,
      rotate: LOG_FILES,
      mode: 0o600,
    });
  const log = pino(
    { level: options.level, base },
    pino.multistream([
      { stream: process.stdout, level: 'trace' },
      ...(file ? [{ stream: file, level: 'trace' as const }] : []),
      { stream: problems, level: 'warn' },
    ]),
  );
  const close = async () => {
    if (file) await new Promise<void>((resolve) => file.end(() => resolve()));
  };
  return { log, problems, close };
}
