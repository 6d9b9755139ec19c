// `tether serve`: every flag of the daemon, each also read from TETHER_<FLAG>
// (--state-dir from TETHER_STATE_DIR, and so on).
import { type Command, Option } from 'commander';
import { DEFAULT_WEDGE_LIMIT, LOG_LEVELS, parseConfig } from '../config.js';
import { serve } from '../serve.js';
import { socketOption } from './common.js';

/** Flags, description, default (none: unset unless given). */
const FLAGS: readonly (readonly [string, string, string?])[] = [
  ['--name <name>', 'the driver name (default: the socket base name)'],
  ['--state-dir <dir>', 'where the state database lives', '/var/lib/tether'],
  ['--interface-prefix <prefix>', 'prefix of the interfaces tether creates', 'tth'],
  ['--mtu <bytes>', 'MTU of networks that set none', '1500'],
  [
    '--orphan-grace <seconds>',
    'how long an address or a container interface may look abandoned before tether frees it',
    '60',
  ],
  ['--gc-interval <seconds>', 'how often to free endpoints whose container vanished unannounced', '30'],
  ['--default-pool <range:size>', 'where IPv4 subnets come from when none is given', '10.200.0.0/13:24'],
  ['--default-pool6 <range:size>', 'where IPv6 subnets come from (default: a random unique local /48 split into /64s)'],
  ['--tcp <host:port>', 'also serve the protocol over TCP (mutual TLS)'],
  ['--tls-cert <file>', "tether's certificate for --tcp"],
  ['--tls-key <file>', "tether's key for --tcp"],
  ['--tls-ca <file>', 'the CA that client certificates must be signed by'],
  ['--spec-dir <dir>', 'write NAME.json (with --tcp) or NAME.spec here, e.g. /etc/docker/plugins'],
  ['--docker-cert <file>', 'the client certificate Docker presents, written into NAME.json'],
  ['--docker-key <file>', "the key of Docker's client certificate"],
  ['--store <url>', 'sqlite (under --state-dir), or etcd://host:port[,host:port...] for cluster mode', 'sqlite'],
  ['--scope <scope>', 'local, or global for swarm networks (needs --store etcd://...)', 'local'],
  ['--etcd-cert <file>', 'client certificate for etcd'],
  ['--etcd-key <file>', 'client key for etcd'],
  ['--etcd-ca <file>', 'the CA of the etcd members'],
  ['--host-name <name>', "this host's name in the cluster (default: the machine's host name)"],
  [
    '--advertise-address <ip>',
    'the VXLAN tunnel address of this host (default: the source address of the route to etcd)',
  ],
  ['--host-ttl <seconds>', "how long this host's registration outlives its last renewal", '10'],
  [
    '--dead-host-grace <seconds>',
    "how long after a host's registration expires its endpoints and addresses are given back",
    '300',
  ],
  ['--vxlan-port <port>', 'UDP port of the VXLAN overlay', '4789'],
  [
    '--names-addr <ip|off>',
    "cluster mode: answer DNS for the cluster's container names here (point Docker's daemon-wide dns at it)",
    '169.254.53.53',
  ],
  [
    '--uplinks <list>',
    'host interfaces networks may put containers on (-o tether.parent / tether.uplink): ' +
      '[NAME=]IFACE[:shared],... (:shared allows the interface of the default route or the tunnel address)',
  ],
  [
    '--docker-socket <path>',
    "Docker's API socket: asked before freeing an endpoint that looks abandoned; " +
      'cluster mode creates networks through it',
    '/var/run/docker.sock',
  ],
  ['--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics'],
  [
    '--ui-addr <host:port>',
    'serve the read-only dashboard here (off a loopback address: with --ui-token-file or the --tls-* files)',
  ],
  ['--ui-token-file <file>', 'a file holding the token the dashboard asks for'],
  ['--log-file <path>', 'also write the log here, rotated by size (read it with tether logs)'],
  [
    '--wedge-limit <seconds>',
    'exit (to be restarted) when the event loop stalls or a store call hangs this long',
    DEFAULT_WEDGE_LIMIT,
  ],
];

/** The option, also read from the environment variable named after it. */
function fromEnvironment(flags: string, description: string, fallback?: string): Option {
  const name = /^--([a-z0-9-]+)/.exec(flags)?.[1] ?? '';
  const option = new Option(flags, description).env(`TETHER_${name.replaceAll('-', '_').toUpperCase()}`);
  return fallback === undefined ? option : option.default(fallback);
}

export function addServeCommand(program: Command): void {
  const serveCommand = program
    .command('serve')
    .description('run the plugin daemon in the foreground')
    .addOption(socketOption())
    .addOption(fromEnvironment('--log-level <level>', 'log level', 'info').choices(LOG_LEVELS))
    .addOption(new Option('--insecure-tcp', 'plain HTTP on --tcp; loopback addresses only'));
  for (const [flags, description, fallback] of FLAGS)
    serveCommand.addOption(fromEnvironment(flags, description, fallback));
  serveCommand.action(async (options) => {
    await serve(parseConfig(options));
  });
}
