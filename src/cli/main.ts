// The tether command: `serve` runs the daemon; `ls` shows what it holds.
import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS, parseConfig } from '../config.js';
import { serve } from '../daemon.js';
import { AUDIT_PATH, STATE_PATH } from '../operator-api.js';
import { compareWithDocker, dockerEndpoints } from './docker-view.js';
import { getJson } from './http.js';

const daemonState = z.object({
  networks: z.array(z.object({ id: z.string(), bridge: z.string(), subnets: z.array(z.string()), internal: z.boolean() })),
  endpoints: z.array(z.object({
    id: z.string(), networkId: z.string(), hostName: z.string(), mac: z.string(),
    address: z.string().optional(), addressIpv6: z.string().optional(),
    ports: z.array(z.object({
      proto: z.string(), hostIp: z.string(), hostPort: z.number(), containerIp: z.string(), containerPort: z.number(),
    })).default([]),
  })),
  pools: z.array(z.object({ id: z.string(), refs: z.number(), used: z.number(), capacity: z.string() })),
});
const auditReport = z.object({
  problems: z.array(z.string()), networks: z.number(), endpoints: z.number(), pools: z.number(), addresses: z.number(),
});

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
  .addOption(new Option('--orphan-grace <seconds>', 'free addresses nothing has used for this long after start-up').env('TETHER_ORPHAN_GRACE').default('60'))
  .addOption(new Option('--default-pool <range:size>', 'where IPv4 subnets come from when none is given').env('TETHER_DEFAULT_POOL').default('10.200.0.0/13:24'))
  .addOption(new Option('--default-pool6 <range:size>', 'where IPv6 subnets come from (default: a random unique local /48 split into /64s)').env('TETHER_DEFAULT_POOL6'))
  .action(async (options) => {
    await serve(parseConfig(options));
  });

program.command('audit')
  .description('check that Docker, the store and the kernel agree; exits 1 when they do not')
  .addOption(socketOption())
  .addOption(new Option('--docker-socket <path>', "Docker's API socket, to compare Docker's view too").env('TETHER_DOCKER_SOCKET').default('/var/run/docker.sock'))
  .option('--no-docker', "leave Docker's view out")
  .option('--json', 'print JSON')
  .action(async (options: { socket: string; dockerSocket: string; docker: boolean; json?: boolean }) => {
    const report = auditReport.parse(await getJson(options.socket, AUDIT_PATH));
    const problems = [...report.problems];
    if (options.docker) {
      const state = daemonState.parse(await getJson(options.socket, STATE_PATH));
      problems.push(...compareWithDocker(await dockerEndpoints(options.dockerSocket, basename(options.socket, '.sock')), state));
    }
    if (options.json) console.log(JSON.stringify({ ...report, problems }, null, 2));
    else {
      console.log(`${report.networks} networks, ${report.endpoints} endpoints, ${report.pools} pools, ${report.addresses} addresses allocated`);
      for (const problem of problems) console.log(`problem: ${problem}`);
      if (problems.length === 0) console.log('no problems');
    }
    process.exitCode = problems.length === 0 ? 0 : 1;
  });

program.command('ls')
  .description('list the networks, endpoints and pools the daemon holds')
  .addOption(socketOption())
  .option('--json', 'print JSON')
  .action(async (options: { socket: string; json?: boolean }) => {
    const state = daemonState.parse(await getJson(options.socket, STATE_PATH));
    if (options.json) return void console.log(JSON.stringify(state, null, 2));
    const table = (rows: string[][]) => {
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
    };
    table([['NETWORK', 'BRIDGE', 'SUBNETS', 'INTERNAL'],
      ...state.networks.map((n) => [n.id.slice(0, 12), n.bridge, n.subnets.join(','), String(n.internal)])]);
    console.log();
    table([['ENDPOINT', 'NETWORK', 'INTERFACE', 'MAC', 'ADDRESSES', 'PORTS'],
      ...state.endpoints.map((e) => [e.id.slice(0, 12), e.networkId.slice(0, 12), e.hostName, e.mac,
        [e.address, e.addressIpv6].filter(Boolean).join(','),
        e.ports.map((p) => `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(',')])]);
    console.log();
    table([['POOL', 'REFS', 'USED', 'CAPACITY'], ...state.pools.map((p) => [p.id, String(p.refs), String(p.used), p.capacity])]);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`tether: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
