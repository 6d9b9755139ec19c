// The tether command: `serve` runs the daemon; the others show what a running
// daemon holds and whether the host is fit for it. Each finds the daemon with
// --socket, as `serve` does, and prints a table or, with --json, JSON.
import { Command } from 'commander';
import { addLogsCommand } from './logs.js';
import { addPackagingCommands } from './packaging-commands.js';
import { addPolicyCommands } from './policy-commands.js';
import { addQueryCommands } from './queries.js';
import { addServeCommand } from './serve-command.js';

const program = new Command('tether').description('Docker network and IPAM plugin').showHelpAfterError();
addServeCommand(program);
addQueryCommands(program);
addPolicyCommands(program);
addLogsCommand(program);
addPackagingCommands(program);

program.parseAsync().catch((error: unknown) => {
  console.error(`tether: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
