// `tether serve`: every flag of the daemon, each also read from a TETHER_* variable.
import { type Command, Option } from 'commander';
import { DEFAULT_WEDGE_LIMIT, LOG_LEVELS, parseConfig } from '../config.js';
import { serve } from '../serve.js';
import { socketOption } from './common.js';

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the plugin daemon in the foreground')
    .addOption(socketOption())
    .addOption(new Option('--name <name>', 'the driver name (default: the socket base name)').env('TETHER_NAME'))
    .addOption(
      new Option('--state-dir <dir>', 'where the state database lives')
        .env('TETHER_STATE_DIR')
        .default('/var/lib/tether'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level').env('TETHER_LOG_LEVEL').choices(LOG_LEVELS).default('info'),
    )
    .addOption(
      new Option('--interface-prefix <prefix>', 'prefix of the interfaces tether creates')
        .env('TETHER_INTERFACE_PREFIX')
        .default('tth'),
    )
    .addOption(new Option('--mtu <bytes>', 'MTU of networks that set none').env('TETHER_MTU').default('1500'))
    .addOption(
      new Option(
        '--orphan-grace <seconds>',
        'how long an address or a container interface may look abandoned before tether frees it',
      )
        .env('TETHER_ORPHAN_GRACE')
        .default('60'),
    )
    .addOption(
      new Option('--gc-interval <seconds>', 'how often to free endpoints whose container vanished unannounced')
        .env('TETHER_GC_INTERVAL')
        .default('30'),
    )
    .addOption(
      new Option('--default-pool <range:size>', 'where IPv4 subnets come from when none is given')
        .env('TETHER_DEFAULT_POOL')
        .default('10.200.0.0/13:24'),
    )
    .addOption(
      new Option(
        '--default-pool6 <range:size>',
        'where IPv6 subnets come from (default: a random unique local /48 split into /64s)',
      ).env('TETHER_DEFAULT_POOL6'),
    )
    .addOption(new Option('--tcp <host:port>', 'also serve the protocol over TCP (mutual TLS)').env('TETHER_TCP'))
    .addOption(new Option('--tls-cert <file>', "tether's certificate for --tcp").env('TETHER_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', "tether's key for --tcp").env('TETHER_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', 'the CA that client certificates must be signed by').env('TETHER_TLS_CA'))
    .addOption(new Option('--insecure-tcp', 'plain HTTP on --tcp; loopback addresses only'))
    .addOption(
      new Option('--spec-dir <dir>', 'write NAME.json (with --tcp) or NAME.spec here, e.g. /etc/docker/plugins').env(
        'TETHER_SPEC_DIR',
      ),
    )
    .addOption(
      new Option('--docker-cert <file>', 'the client certificate Docker presents, written into NAME.json').env(
        'TETHER_DOCKER_CERT',
      ),
    )
    .addOption(new Option('--docker-key <file>', "the key of Docker's client certificate").env('TETHER_DOCKER_KEY'))
    .addOption(
      new Option('--store <url>', 'sqlite (under --state-dir), or etcd://host:port[,host:port...] for cluster mode')
        .env('TETHER_STORE')
        .default('sqlite'),
    )
    .addOption(new Option('--etcd-cert <file>', 'client certificate for etcd').env('TETHER_ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'client key for etcd').env('TETHER_ETCD_KEY'))
    .addOption(new Option('--etcd-ca <file>', 'the CA of the etcd members').env('TETHER_ETCD_CA'))
    .addOption(
      new Option('--host-name <name>', "this host's name in the cluster (default: the machine's host name)").env(
        'TETHER_HOST_NAME',
      ),
    )
    .addOption(
      new Option(
        '--advertise-address <ip>',
        'the VXLAN tunnel address of this host (default: the source address of the route to etcd)',
      ).env('TETHER_ADVERTISE_ADDRESS'),
    )
    .addOption(
      new Option('--host-ttl <seconds>', "how long this host's registration outlives its last renewal")
        .env('TETHER_HOST_TTL')
        .default('10'),
    )
    .addOption(
      new Option(
        '--dead-host-grace <seconds>',
        "how long after a host's registration expires its endpoints and addresses are given back",
      )
        .env('TETHER_DEAD_HOST_GRACE')
        .default('300'),
    )
    .addOption(
      new Option('--vxlan-port <port>', 'UDP port of the VXLAN overlay').env('TETHER_VXLAN_PORT').default('4789'),
    )
    .addOption(
      new Option(
        '--docker-socket <path>',
        "Docker's API socket: asked before freeing an endpoint that looks abandoned; cluster mode creates " +
          'networks through it',
      )
        .env('TETHER_DOCKER_SOCKET')
        .default('/var/run/docker.sock'),
    )
    .addOption(
      new Option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics').env(
        'TETHER_METRICS_ADDR',
      ),
    )
    .addOption(
      new Option('--log-file <path>', 'also write the log here, rotated by size (read it with tether logs)').env(
        'TETHER_LOG_FILE',
      ),
    )
    .addOption(
      new Option(
        '--wedge-limit <seconds>',
        'exit (to be restarted) when the event loop stalls or a store call hangs this long',
      )
        .env('TETHER_WEDGE_LIMIT')
        .default(DEFAULT_WEDGE_LIMIT),
    )
    .action(async (options) => {
      await serve(parseConfig(options));
    });
}
