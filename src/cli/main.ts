// The tether command: `serve` runs the daemon; the others show what a running
// daemon holds and whether the host is fit for it. Each finds the daemon with
// --socket, as `serve` does, and prints a table or, with --json, JSON.
import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_LEVELS, parseConfig } from '../config.js';
import { serve } from '../serve.js';
import { type DaemonState, formatPort } from '../operator/contract.js';
import { readAudit, readCluster, readState, readStatus } from './client.js';
import { compareWithDocker, dockerEndpoints } from '../docker-view.js';
import { diagnose } from './doctor.js';
import { printJson, printTable } from './output.js';

const DEFAULT_SOCKET = '/run/docker/plugins/tether.sock';
/** The checkout this command runs from: dist/cli/main.js is two levels down. */
const PROJECT = fileURLToPath(new URL('../..', import.meta.url));
const socketOption = () => new Option('--socket <path>', 'the plugin socket; its base name is the driver name')
  .env('TETHER_SOCKET').default(DEFAULT_SOCKET);

const program = new Command('tether').description('Docker network and IPAM plugin').showHelpAfterError();

/** A read-only command: --socket, --json, and an action that prints. */
function query(parent: Command, name: string, description: string) {
  return parent.command(name).description(description).addOption(socketOption()).option('--json', 'print JSON');
}

program.command('serve')
  .description('run the plugin daemon in the foreground')
  .addOption(socketOption())
  .addOption(new Option('--name <name>', 'the driver name (default: the socket base name)').env('TETHER_NAME'))
  .addOption(new Option('--state-dir <dir>', 'where the state database lives').env('TETHER_STATE_DIR').default('/var/lib/tether'))
  .addOption(new Option('--log-level <level>', 'log level').env('TETHER_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
  .addOption(new Option('--interface-prefix <prefix>', 'prefix of the interfaces tether creates').env('TETHER_INTERFACE_PREFIX').default('tth'))
  .addOption(new Option('--mtu <bytes>', 'MTU of networks that set none').env('TETHER_MTU').default('1500'))
  .addOption(new Option('--orphan-grace <seconds>', 'how long an address or a container interface may look abandoned before tether frees it').env('TETHER_ORPHAN_GRACE').default('60'))
  .addOption(new Option('--gc-interval <seconds>', 'how often to free endpoints whose container vanished unannounced').env('TETHER_GC_INTERVAL').default('30'))
  .addOption(new Option('--default-pool <range:size>', 'where IPv4 subnets come from when none is given').env('TETHER_DEFAULT_POOL').default('10.200.0.0/13:24'))
  .addOption(new Option('--default-pool6 <range:size>', 'where IPv6 subnets come from (default: a random unique local /48 split into /64s)').env('TETHER_DEFAULT_POOL6'))
  .addOption(new Option('--tcp <host:port>', 'also serve the protocol over TCP (mutual TLS)').env('TETHER_TCP'))
  .addOption(new Option('--tls-cert <file>', "tether's certificate for --tcp").env('TETHER_TLS_CERT'))
  .addOption(new Option('--tls-key <file>', "tether's key for --tcp").env('TETHER_TLS_KEY'))
  .addOption(new Option('--tls-ca <file>', 'the CA that client certificates must be signed by').env('TETHER_TLS_CA'))
  .addOption(new Option('--insecure-tcp', 'plain HTTP on --tcp; loopback addresses only'))
  .addOption(new Option('--spec-dir <dir>', 'write NAME.json (with --tcp) or NAME.spec here, e.g. /etc/docker/plugins').env('TETHER_SPEC_DIR'))
  .addOption(new Option('--docker-cert <file>', 'the client certificate Docker presents, written into NAME.json').env('TETHER_DOCKER_CERT'))
  .addOption(new Option('--docker-key <file>', "the key of Docker's client certificate").env('TETHER_DOCKER_KEY'))
  .addOption(new Option('--store <url>', 'sqlite (under --state-dir), or etcd://host:port[,host:port...] for cluster mode').env('TETHER_STORE').default('sqlite'))
  .addOption(new Option('--etcd-cert <file>', 'client certificate for etcd').env('TETHER_ETCD_CERT'))
  .addOption(new Option('--etcd-key <file>', 'client key for etcd').env('TETHER_ETCD_KEY'))
  .addOption(new Option('--etcd-ca <file>', 'the CA of the etcd members').env('TETHER_ETCD_CA'))
  .addOption(new Option('--host-name <name>', "this host's name in the cluster (default: the machine's host name)").env('TETHER_HOST_NAME'))
  .addOption(new Option('--advertise-address <ip>', 'the VXLAN tunnel address of this host (default: the source address of the route to etcd)').env('TETHER_ADVERTISE_ADDRESS'))
  .addOption(new Option('--host-ttl <seconds>', "how long this host's registration outlives its last renewal").env('TETHER_HOST_TTL').default('10'))
  .addOption(new Option('--dead-host-grace <seconds>', "how long after a host's registration expires its endpoints and addresses are given back").env('TETHER_DEAD_HOST_GRACE').default('300'))
  .addOption(new Option('--vxlan-port <port>', 'UDP port of the VXLAN overlay').env('TETHER_VXLAN_PORT').default('4789'))
  .addOption(new Option('--docker-socket <path>', "Docker's API socket: asked before freeing an endpoint that looks abandoned; cluster mode creates networks through it").env('TETHER_DOCKER_SOCKET').default('/var/run/docker.sock'))
  .addOption(new Option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics').env('TETHER_METRICS_ADDR'))
  .action(async (options) => {
    await serve(parseConfig(options));
  });

query(program, 'status', 'is the daemon healthy? exits 1 when it is not')
  .action(async (options: { socket: string; json?: boolean }) => {
    const report = await readStatus(options.socket).then(
      (status) => ({ healthy: status.store === 'ok', ...status }),
      (error: Error) => ({ healthy: false, error: error.message }),
    );
    if (options.json) printJson(report);
    else if ('error' in report) console.log(`unhealthy: ${report.error}`);
    else console.log(`${report.healthy ? 'healthy' : 'unhealthy'}: store ${report.store}, ${report.networks} networks, ${report.endpoints} endpoints, ${report.pools} pools`);
    process.exitCode = report.healthy ? 0 : 1;
  });

const networkRows = (state: DaemonState) => state.networks.map((n) => [
  n.id.slice(0, 12), n.bridge, n.subnets.join(','), n.internal ? 'internal' : n.nat ? 'nat' : 'routed',
  String(state.endpoints.filter((e) => e.networkId === n.id).length)]);
const NETWORK_HEADER = ['NETWORK', 'BRIDGE', 'SUBNETS', 'MODE', 'ENDPOINTS'];

const endpointRows = (state: DaemonState) => state.endpoints.map((e) => [
  e.id.slice(0, 12), e.networkId.slice(0, 12), e.hostName, e.mac, [e.address, e.addressIpv6].filter(Boolean).join(','),
  e.ports.map(formatPort).join(',')]);
const ENDPOINT_HEADER = ['ENDPOINT', 'NETWORK', 'INTERFACE', 'MAC', 'ADDRESSES', 'PORTS'];

const poolRows = (state: DaemonState) => state.pools.map((p) => [p.id, p.range ?? '', String(p.refs), String(p.hosts), String(p.used), p.capacity,
  `${((p.used / Math.max(1, Number(p.capacity))) * 100).toFixed(1)}%`]);
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
    if (matches.length !== 1) throw new Error(matches.length ? `"${id}" matches ${matches.length} networks` : `no network ${id}`);
    const found = matches[0] as DaemonState['networks'][number];
    const endpoints = state.endpoints.filter((e) => e.networkId === found.id);
    printJson({ ...found, endpoints });
  });

const endpoint = program.command('endpoint').description('the endpoints tether holds');
query(endpoint, 'ls', 'list endpoints with addresses, MAC, host interface and published ports')
  .action(async (options: { socket: string; json?: boolean }) => {
    const state = await readState(options.socket);
    if (options.json) printJson(state.endpoints);
    else printTable(ENDPOINT_HEADER, endpointRows(state));
  });

const pool = program.command('pool').description("tether IPAM's pools");
query(pool, 'ls', 'list pools with their use').action(async (options: { socket: string; json?: boolean }) => {
  const state = await readState(options.socket);
  if (options.json) printJson(state.pools);
  else printTable(POOL_HEADER, poolRows(state));
});

const cluster = program.command('cluster').description('cluster mode: hosts and the networks they share');
query(cluster, 'ls', 'live hosts with their tunnel addresses, and cluster networks with their endpoints per host')
  .action(async (options: { socket: string; json?: boolean }) => {
    const view = await readCluster(options.socket);
    if (options.json) return printJson(view);
    if (!view.enabled) return console.log('not in cluster mode (tether serve --store etcd://...)');
    printTable(['HOST', 'VTEP', 'REGISTERED'], view.hosts.map((h) =>
      [h.host === view.host ? `${h.host} (this host)` : h.host, h.vtep, new Date(h.startedAt).toISOString()]));
    console.log();
    printTable(['NETWORK', 'VNI', 'SUBNETS', 'ENDPOINTS'], view.networks.map((n) =>
      [n.name, String(n.vni), n.subnets.join(','), Object.entries(n.endpoints).map(([host, count]) => `${host}:${count}`).join(' ') || '-']));
  });

query(program, 'ls', 'networks, endpoints and pools at once').action(async (options: { socket: string; json?: boolean }) => {
  const state = await readState(options.socket);
  if (options.json) return printJson(state);
  printTable(NETWORK_HEADER, networkRows(state));
  console.log();
  printTable(ENDPOINT_HEADER, endpointRows(state));
  console.log();
  printTable(POOL_HEADER, poolRows(state));
});

query(program, 'audit', 'check that Docker, the store and the kernel agree; exits 1 when they do not')
  .addOption(new Option('--docker-socket <path>', "Docker's API socket, to compare Docker's view too").env('TETHER_DOCKER_SOCKET').default('/var/run/docker.sock'))
  .option('--no-docker', "leave Docker's view out")
  .action(async (options: { socket: string; dockerSocket: string; docker: boolean; json?: boolean }) => {
    const report = await readAudit(options.socket);
    const problems = [...report.problems];
    if (options.docker) {
      const state = await readState(options.socket);
      problems.push(...compareWithDocker(await dockerEndpoints(options.dockerSocket, basename(options.socket, '.sock')), state));
    }
    if (options.json) printJson({ ...report, problems });
    else {
      console.log(`${report.networks} networks, ${report.endpoints} endpoints, ${report.pools} pools, ${report.addresses} addresses allocated`);
      for (const problem of problems) console.log(`problem: ${problem}`);
      if (problems.length === 0) console.log('no problems');
    }
    process.exitCode = problems.length === 0 ? 0 : 1;
  });

query(program, 'doctor', 'check the host for what tether needs, with the fix for each problem; exits 1 on a problem')
  .action(async (options: { socket: string; json?: boolean }) => {
    const findings = await diagnose(options.socket);
    if (options.json) printJson(findings);
    else printTable(['CHECK', 'OK', 'DETAIL', 'FIX'], findings.map((f) => [f.check, f.ok ? 'ok' : 'PROBLEM', f.detail, f.fix ?? '']));
    process.exitCode = findings.every((f) => f.ok) ? 0 : 1;
  });

const plugin = program.command('plugin').description('the Docker managed (v2) plugin');
plugin.command('create')
  .description('build the plugin from this checkout (offline), docker plugin create it and enable it')
  .requiredOption('--name <name>', 'the plugin name; networks then use -d NAME:latest --ipam-driver NAME:latest')
  .option('--state-dir <dir>', 'host directory for the plugin state', '/var/lib/tether-plugin')
  .option('--docker-host <address>', 'the Docker daemon to create it on (docker -H)')
  .action(async (options: { name: string; stateDir: string; dockerHost?: string }) => {
    const { createPlugin } = await import('../packaging/plugin.js');
    const result = createPlugin({ name: options.name, project: PROJECT, stateDir: options.stateDir, ...(options.dockerHost ? { dockerHost: options.dockerHost } : {}) });
    console.log(`plugin ${options.name} created (${(result.createMs / 1000).toFixed(1)} s) and enabled (${(result.enableMs / 1000).toFixed(1)} s); rootfs ${(result.rootfsBytes / 1048576).toFixed(1)} MiB`);
    console.log(`use it with: docker network create -d ${options.name}:latest --ipam-driver ${options.name}:latest ...`);
  });

const image = program.command('image').description('the tether container image');
image.command('build')
  .description('build a FROM-scratch image of tether from this checkout (offline)')
  .option('--tag <tag>', 'image tag', 'tether:latest')
  .option('--docker-host <address>', 'the Docker daemon to import it into (docker -H)')
  .action(async (options: { tag: string; dockerHost?: string }) => {
    const { buildImage } = await import('../packaging/plugin.js');
    const { rootfsBytes } = buildImage(PROJECT, options.tag, options.dockerHost);
    console.log(`image ${options.tag} built; rootfs ${(rootfsBytes / 1048576).toFixed(1)} MiB`);
    console.log(`run it with: docker run -d --net=host --privileged -v /run/docker/plugins:/run/docker/plugins -v /var/lib/tether:/var/lib/tether ${options.tag}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`tether: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
