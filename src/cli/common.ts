// What every command of the tether CLI shares: how it finds the daemon.
import { type Command, Option } from 'commander';

const DEFAULT_SOCKET = '/run/docker/plugins/tether.sock';

export const socketOption = () =>
  new Option('--socket <path>', 'the plugin socket; its base name is the driver name')
    .env('TETHER_SOCKET')
    .default(DEFAULT_SOCKET);

/** A read-only command: --socket, --json, and an action that prints. */
export function query(parent: Command, name: string, description: string) {
  return parent.command(name).description(description).addOption(socketOption()).option('--json', 'print JSON');
}
