// Runs a system tool (ip, iptables-restore) without a shell, so that no
// argument is ever interpreted; a failure carries the tool's own words. Every
// run has a deadline: a tool stuck on a lock or the kernel is killed and its
// call fails, so that no network change waits behind it forever.
import { spawn } from 'node:child_process';
import { TetherError } from '../errors.js';

/** Far above any real call (a full iptables-restore of 1,000 networks takes about a second). */
export const TOOL_DEADLINE_MS = 30_000;

export function run(
  command: string,
  args: readonly string[],
  input?: string,
  deadlineMs = TOOL_DEADLINE_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let late = false;
    const deadline = setTimeout(() => {
      late = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin?.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(deadline);
      reject(new TetherError('KERNEL', `${command}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code) => {
      clearTimeout(deadline);
      if (late)
        return reject(new TetherError('KERNEL', `${command} ${args.join(' ')}: no answer within ${deadlineMs} ms`));
      if (code === 0) return resolve(Buffer.concat(stdout).toString());
      const message = Buffer.concat(stderr).toString().trim() || `exit code ${code}`;
      reject(new TetherError('KERNEL', `${command} ${args.join(' ')}: ${message}`));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
