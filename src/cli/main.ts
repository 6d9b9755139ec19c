// The tether command: `serve` runs the daemon; `ls` shows what it holds.
import { Command, Option } from 'commander';
import { request } from 'node:http';
import { LOG_LEVELS, parseConfig } from '../config.js';
import { serve } from '../daemon.js';
import { STATE_PATH } from '../operator-api.js';

const DEFAULT_SOCKET = '/run/docker/plugins/tether.sock';
const socketOption = () => new Option('--socket <path>', 'the plugin socket; its base name is the driver name')
  .env('TETHER_SOCKET').default(DEFAULT_SOCKET);

const program = new Command('tether').description('Docker network and IPAM plugin').showHelpAfterError();

program.command('serve')
  .description('run the plugin daemon in the foreground')
  .addOption(socketOption())
  .addOption(new Option('--state-dir <dir>', 'where the state database lives').env('TETHER_STATE_DIR').default('/var/lib/tether'))
  .addOption(new Option('--log-level <level>', 'log level').env('TETHER_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
  .addOption(new Option('--interface-prefix <prefix>', 'prefix of the interfaces tether creates').env('TETHER_INTERFACE_PREFIX').default('tth'))
  .addOption(new Option('--mtu <bytes>', 'MTU of networks that set none').env('TETHER_MTU').default('1500'))
  .addOption(new Option('--default-pool <range:size>', 'where IPv4 subnets come from when none is given').env('TETHER_DEFAULT_POOL').default('10.200.0.0/13:24'))
  .addOption(new Option('--default-pool6 <range:size>', 'where IPv6 subnets come from (default: a random unique local /48 split into /64s)').env('TETHER_DEFAULT_POOL6'))
  .action(async (options) => {
    await serve(parseConfig(options));
  });

program.command('ls')
  .description('list the networks, endpoints and pools the daemon holds')
  .addOption(socketOption())
  .option('--json', 'print JSON')
  .action(async (options: { socket: string; json?: boolean }) => {
    const state = JSON.parse(await get(options.socket, STATE_PATH)) as {
      networks: { id: string; bridge: string; subnets: string[]; internal: boolean }[];
      endpoints: { id: string; networkId: string; hostName: string; mac: string; address?: string; addressIpv6?: string }[];
      pools: { id: string; refs: number; used: number; capacity: string }[];
    };
    if (options.json) return void console.log(JSON.stringify(state, null, 2));
    const table = (rows: string[][]) => {
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
    };
    table([['NETWORK', 'BRIDGE', 'SUBNETS', 'INTERNAL'],
      ...state.networks.map((n) => [n.id.slice(0, 12), n.bridge, n.subnets.join(','), String(n.internal)])]);
    console.log();
    table([['ENDPOINT', 'NETWORK', 'INTERFACE', 'MAC', 'ADDRESSES'],
      ...state.endpoints.map((e) => [e.id.slice(0, 12), e.networkId.slice(0, 12), e.hostName, e.mac,
        [e.address, e.addressIpv6].filter(Boolean).join(',')])]);
    console.log();
    table([['POOL', 'REFS', 'USED', 'CAPACITY'], ...state.pools.map((p) => [p.id, String(p.refs), String(p.used), p.capacity])]);
  });

function get(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString())
        : reject(new Error(`tether answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`))));
    });
    req.on('error', (error) => reject(new Error(`cannot reach tether at ${socketPath}: ${error.message}`)));
    req.end();
  });
}

program.parseAsync().catch((error: unknown) => {
  console.error(`tether: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
