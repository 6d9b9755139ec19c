// The read-only commands: what a running daemon holds, whether it is healthy,
// and whether Docker, the store and the kernel agree.
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { compareWithDocker, dockerEndpoints } from '../docker-view.js';
import { type DaemonState, formatPort } from '../operator/contract.js';
import { readAudit, readCluster, readReadiness, readState, readStatus } from './client.js';
import { query } from './common.js';
import { diagnose } from './doctor.js';
import { printJson, printTable } from './output.js';

export function addQueryCommands(program: Command): void {
  query(program, 'status', 'is the daemon healthy? exits 1 when it is not')
    .option('--ready', 'whether tether can work: store, cluster lease, reconcile, firewall; exits 1 when not ready')
    .action(async (options: { socket: string; json?: boolean; ready?: boolean }) => {
      if (options.ready) return printReadiness(options.socket, options.json);
      const report = await readStatus(options.socket).then(
        (status) => ({ healthy: status.store === 'ok', ...status }),
        (error: Error) => ({ healthy: false, error: error.message }),
      );
      if (options.json) printJson(report);
      else if ('error' in report) console.log(`unhealthy: ${report.error}`);
      else
        console.log(
          `${report.healthy ? 'healthy' : 'unhealthy'}: store ${report.store}, ${report.networks} networks, ` +
            `${report.endpoints} endpoints, ${report.pools} pools`,
        );
      process.exitCode = report.healthy ? 0 : 1;
    });

  const networkRows = (state: DaemonState) =>
    state.networks.map((n) => [
      n.id.slice(0, 12),
      n.bridge ?? '-',
      n.subnets.join(','),
      // A LAN's router routes it; a network of tether's own is internal, NATed or routed.
      n.lan ? n.label : n.internal ? 'internal' : n.nat ? 'nat' : 'routed',
      String(state.endpoints.filter((e) => e.networkId === n.id).length),
    ]);
  const NETWORK_HEADER = ['NETWORK', 'BRIDGE', 'SUBNETS', 'MODE', 'ENDPOINTS'];

  const endpointRows = (state: DaemonState) =>
    state.endpoints.map((e) => [
      e.id.slice(0, 12),
      e.networkId.slice(0, 12),
      e.hostName ?? '-',
      e.mac,
      [e.address, e.addressIpv6].filter(Boolean).join(','),
      e.ports.map(formatPort).join(','),
    ]);
  const ENDPOINT_HEADER = ['ENDPOINT', 'NETWORK', 'INTERFACE', 'MAC', 'ADDRESSES', 'PORTS'];

  const poolRows = (state: DaemonState) =>
    state.pools.map((p) => [
      p.id,
      p.range ?? '',
      String(p.refs),
      String(p.hosts),
      String(p.used),
      p.capacity,
      `${((p.used / Math.max(1, Number(p.capacity))) * 100).toFixed(1)}%`,
    ]);
  const POOL_HEADER = ['POOL', 'IP-RANGE', 'REFS', 'HOSTS', 'USED', 'CAPACITY', 'USE'];

  const network = program.command('network').description('the networks tether holds');
  query(network, 'ls', 'list networks').action(async (options: { socket: string; json?: boolean }) => {
    const state = await readState(options.socket);
    if (options.json) printJson(state.networks);
    else printTable(NETWORK_HEADER, networkRows(state));
  });
  query(network, 'inspect', 'one network (an ID or its prefix) with its endpoints')
    .argument('<id>', 'network ID or unique prefix')
    .action(async (id: string, options: { socket: string; json?: boolean }) => {
      const state = await readState(options.socket);
      const matches = state.networks.filter((n) => n.id.startsWith(id));
      if (matches.length !== 1)
        throw new Error(matches.length ? `"${id}" matches ${matches.length} networks` : `no network ${id}`);
      const found = matches[0] as DaemonState['networks'][number];
      const endpoints = state.endpoints.filter((e) => e.networkId === found.id);
      printJson({ ...found, endpoints });
    });

  const endpoint = program.command('endpoint').description('the endpoints tether holds');
  query(endpoint, 'ls', 'list endpoints with addresses, MAC, host interface and published ports').action(
    async (options: { socket: string; json?: boolean }) => {
      const state = await readState(options.socket);
      if (options.json) printJson(state.endpoints);
      else printTable(ENDPOINT_HEADER, endpointRows(state));
    },
  );

  const pool = program.command('pool').description("tether IPAM's pools");
  query(pool, 'ls', 'list pools with their use').action(async (options: { socket: string; json?: boolean }) => {
    const state = await readState(options.socket);
    if (options.json) printJson(state.pools);
    else printTable(POOL_HEADER, poolRows(state));
  });

  const cluster = program.command('cluster').description('cluster mode: hosts and the networks they share');
  query(
    cluster,
    'ls',
    'hosts (live and dead) with their tunnel addresses, and cluster networks with their endpoints per host',
  ).action(async (options: { socket: string; json?: boolean }) => {
    const view = await readCluster(options.socket);
    if (options.json) return printJson(view);
    if (!view.enabled) return console.log('not in cluster mode (tether serve --store etcd://...)');
    printTable(
      ['HOST', 'VTEP', 'REGISTERED', 'STATE'],
      [
        ...view.hosts.map((h) => [
          h.host === view.host ? `${h.host} (this host)` : h.host,
          h.vtep,
          new Date(h.startedAt).toISOString(),
          'alive',
        ]),
        ...view.dead.map((h) => [
          h.host,
          h.vtep ?? '-',
          h.startedAt === undefined ? '-' : new Date(h.startedAt).toISOString(),
          h.since ? `dead since ${new Date(h.since).toISOString()}` : 'dead',
        ]),
      ],
    );
    console.log();
    printTable(
      ['NETWORK', 'VNI', 'SUBNETS', 'ENDPOINTS'],
      view.networks.map((n) => [
        n.swarm ? `${n.name} (swarm)` : n.name,
        String(n.vni),
        n.subnets.join(','),
        Object.entries(n.endpoints)
          .map(([host, count]) => `${host}:${count}`)
          .join(' ') || '-',
      ]),
    );
    if (view.names.length === 0) return;
    console.log();
    printTable(
      ['NAME', 'ALIASES', 'NETWORK', 'HOST', 'ADDRESSES'],
      view.names.map((n) => [n.name, n.aliases.join(',') || '-', n.network, n.host, n.addresses.join(',')]),
    );
  });

  query(program, 'ls', 'networks, endpoints and pools at once').action(
    async (options: { socket: string; json?: boolean }) => {
      const state = await readState(options.socket);
      if (options.json) return printJson(state);
      printTable(NETWORK_HEADER, networkRows(state));
      console.log();
      printTable(ENDPOINT_HEADER, endpointRows(state));
      console.log();
      printTable(POOL_HEADER, poolRows(state));
    },
  );

  interface AuditOptions {
    socket: string;
    dockerSocket: string;
    docker: boolean;
    driver?: string;
    json?: boolean;
  }
  query(program, 'audit', 'check that Docker, the store and the kernel agree; exits 1 when they do not')
    .addOption(
      new Option('--docker-socket <path>', "Docker's API socket, to compare Docker's view too")
        .env('TETHER_DOCKER_SOCKET')
        .default('/var/run/docker.sock'),
    )
    .option('--no-docker', "leave Docker's view out")
    .option(
      '--driver <name>',
      "the driver name Docker knows (default: the socket's base name; a managed plugin: NAME:latest)",
    )
    .action(async (options: AuditOptions) => {
      const report = await readAudit(options.socket);
      const problems = [...report.problems];
      if (options.docker) {
        const state = await readState(options.socket);
        const driver = options.driver ?? basename(options.socket, '.sock');
        problems.push(...compareWithDocker(await dockerEndpoints(options.dockerSocket, driver), state));
      }
      if (options.json) printJson({ ...report, problems });
      else {
        console.log(
          `${report.networks} networks, ${report.endpoints} endpoints, ${report.pools} pools, ` +
            `${report.addresses} addresses allocated`,
        );
        for (const problem of problems) console.log(`problem: ${problem}`);
        if (problems.length === 0) console.log('no problems');
      }
      process.exitCode = problems.length === 0 ? 0 : 1;
    });

  query(
    program,
    'doctor',
    'check the host for what tether needs, with the fix for each problem; exits 1 on a problem',
  ).action(async (options: { socket: string; json?: boolean }) => {
    const findings = await diagnose(options.socket);
    if (options.json) printJson(findings);
    else
      printTable(
        ['CHECK', 'OK', 'DETAIL', 'FIX'],
        findings.map((f) => [f.check, f.ok ? 'ok' : 'PROBLEM', f.detail, f.fix ?? '']),
      );
    process.exitCode = findings.every((f) => f.ok) ? 0 : 1;
  });
}

async function printReadiness(socket: string, json?: boolean): Promise<void> {
  const report = await readReadiness(socket).catch((error: Error) => ({
    ready: false,
    checks: [{ name: 'socket', ok: false, detail: error.message, ms: 0 }],
  }));
  if (json) printJson(report);
  else {
    console.log(report.ready ? 'ready' : 'not ready');
    printTable(
      ['CHECK', 'OK', 'MS', 'DETAIL'],
      report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAIL', String(c.ms), c.detail]),
    );
  }
  process.exitCode = report.ready ? 0 : 1;
}
