// Runs a system tool (ip, iptables-restore) without a shell, so that no
// argument is ever interpreted; a failure carries the tool's own words.
import { spawn } from 'node:child_process';
import { TetherError } from '../errors.js';

export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => reject(new TetherError('KERNEL', `${command}: ${error.message}`, { cause: error })));
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(stdout).toString());
      const message = Buffer.concat(stderr).toString().trim() || `exit code ${code}`;
      reject(new TetherError('KERNEL', `${command} ${args.join(' ')}: ${message}`));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
