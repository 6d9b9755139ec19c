// One long-lived `ip -force -batch -` process for the changes tether makes to
// links, instead of a process per change: spawning `ip` costs more than most
// of the changes themselves (issue 15). Each command is followed by a marker
// that always fails (`link show dev .`), so the end of every command shows on
// stderr in order with its own error, if any: iproute2 numbers each failure
// "Command failed -:LINE". Commands run one at a time, in the order given.
// A command that does not end within the tool deadline (the kernel's lock held
// elsewhere, say) fails, with every command behind it, and the process is
// killed: the next command starts a new one.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { TetherError } from '../errors.js';
import { TOOL_DEADLINE_MS } from '../util/exec.js';

const MARKER = 'link show dev .';
const FAILED = /^Command failed -:(\d+)$/;

interface Pending {
  readonly line: number;
  readonly marker: number;
  readonly text: string;
  /** Set when the command itself failed: its error, given when its marker comes. */
  error?: Error;
  readonly done: (error?: Error) => void;
  readonly deadline: NodeJS.Timeout;
}

export interface ChannelOptions {
  /** The process to run: `ip -force -batch -`, but for tests. */
  readonly command?: readonly [string, ...string[]];
  readonly deadlineMs?: number;
}

/** A pipe's stream is a socket, which Node can leave out of the event loop's reasons to live. */
const handle = (stream: unknown) => stream as { ref(): void; unref(): void };

/** One `ip -batch` process and the commands written to it that await their end. */
class Batch {
  private line = 0;
  private readonly pending: Pending[] = [];
  /** stderr lines since the last command's end: its error, if it failed. */
  private said: string[] = [];
  private partial = '';
  /** Set once a command missed its deadline: why every command still pending fails. */
  private stuck: string | undefined;
  readonly child: ChildProcessWithoutNullStreams;

  constructor(
    private readonly onEnd: () => void,
    private readonly deadlineMs: number,
    [command, ...args]: readonly [string, ...string[]],
  ) {
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { child } = this;
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => this.read(chunk.toString()));
    child.on('error', (error) => this.fail(error.message));
    child.on('exit', (code, signal) => this.fail(`the ip batch process ended (${signal ?? `exit ${code}`})`));
    // The child's exit is not waited for (it is unref'd): its stderr closing says as much.
    child.stderr.on('close', () => this.fail('the ip batch process ended'));
    child.stdin.on('error', () => undefined);
    // An idle batch keeps no daemon alive (the process ends with its stdin, when the daemon's fds
    // close); a pending command does, through the stream its answer comes on.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) handle(stream).unref();
  }

  run(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const line = ++this.line;
      const marker = ++this.line;
      // Not unref'd: a pending command keeps the process alive, as its stream does.
      const deadline = setTimeout(() => this.abandon(text), this.deadlineMs);
      this.pending.push({ line, marker, text, deadline, done: (error) => (error ? reject(error) : resolve()) });
      handle(this.child.stderr).ref();
      this.child.stdin.write(`${text}\n${MARKER}\n`);
    });
  }

  end(): void {
    this.child.stdin.end();
  }

  /** A command missed its deadline: it and every one behind it fail now, and the process goes. */
  private abandon(text: string): void {
    this.stuck ??= `no answer within ${this.deadlineMs} ms (to "${text}"); the ip batch process was restarted`;
    this.fail(this.stuck);
    this.child.kill('SIGKILL');
  }

  /** The process is of no more use: no command is written to it again, and those pending fail. */
  private fail(why: string): void {
    this.onEnd();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.deadline);
      p.done(new TetherError('KERNEL', `ip ${p.text}: ${this.stuck ?? why}`));
    }
  }

  private read(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const failed = FAILED.exec(line);
      const current = this.pending[0];
      if (!failed || !current) {
        this.said.push(line);
        continue;
      }
      const words = this.said.join('; ').trim() || 'failed';
      this.said = [];
      const number = Number(failed[1]);
      // The command's own failure comes first, then always its marker's, which ends it.
      if (number === current.line) current.error = new TetherError('KERNEL', `ip ${current.text}: ${words}`);
      if (number !== current.marker) continue;
      this.pending.shift();
      clearTimeout(current.deadline);
      if (this.pending.length === 0) handle(this.child.stderr).unref();
      current.done(current.error);
    }
  }
}

export class IpChannel {
  private batch: Batch | undefined;

  constructor(private readonly options: ChannelOptions = {}) {}

  /** Runs one `ip` command (arguments as for `ip` itself, none that iproute2 would split). */
  run(args: readonly string[]): Promise<void> {
    if (args.some((a) => a === '' || /[\s"'\\#]/.test(a))) {
      return Promise.reject(new Error(`ip batch: an argument iproute2 would split: ${JSON.stringify(args)}`));
    }
    if (!this.batch) {
      const batch = new Batch(
        () => {
          if (this.batch === batch) this.batch = undefined;
        },
        this.options.deadlineMs ?? TOOL_DEADLINE_MS,
        this.options.command ?? ['ip', '-force', '-batch', '-'],
      );
      this.batch = batch;
    }
    return this.batch.run(args.join(' '));
  }

  /** Ends the process once it has run what it was given; a later command starts another. */
  close(): void {
    this.batch?.end();
    this.batch = undefined;
  }
}
