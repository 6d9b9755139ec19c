// The opt-in Prometheus endpoint (--metrics-addr). prom-client is loaded only
// when it is asked for, so a daemon without metrics does not carry it.
import { createServer } from 'node:http';
import type { ClusterStats } from '../cluster/cluster.js';
import type { Driver } from '../driver/driver.js';
import type { PoolReport } from '../ipam/report.js';
import type { DnsStats } from '../names/stats.js';
import { answerProbe } from '../operator/probes.js';
import type { Readiness } from '../operator/readiness.js';

export interface Metrics {
  /** Records one plugin call: its path without the slash, whether it succeeded, and how long it took. */
  observe(call: string, ok: boolean, seconds: number): void;
  readonly address: string;
  close(): Promise<void>;
}

export async function startMetrics(
  listen: { host: string; port: number },
  parts: {
    driver: Driver;
    pools: PoolReport;
    readiness: Readiness;
    dnsStats(): DnsStats | undefined;
    clusterStats(): ClusterStats | undefined;
  },
): Promise<Metrics> {
  const client = await import('prom-client');
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tether_process_' });
  const calls = new client.Counter({
    name: 'tether_calls_total',
    help: 'Plugin calls by method and result',
    labelNames: ['method', 'result'],
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: 'tether_call_duration_seconds',
    help: 'Plugin call latency by method',
    labelNames: ['method'],
    registers: [registry],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const allocations = new client.Counter({
    name: 'tether_address_allocations_total',
    help: 'Addresses handed out by the IPAM',
    registers: [registry],
  });
  new client.Gauge({
    name: 'tether_pool_addresses_used',
    help: 'Addresses taken per pool',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of parts.pools.usage()) this.set({ pool: p.id }, p.used);
    },
  });
  new client.Gauge({
    name: 'tether_pool_addresses_capacity',
    help: 'Addresses dynamic requests may take per pool',
    labelNames: ['pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of parts.pools.usage()) this.set({ pool: p.id }, Number(p.capacity));
    },
  });
  new client.Gauge({
    name: 'tether_endpoints',
    help: 'Endpoints tether holds',
    registers: [registry],
    collect() {
      this.set(parts.driver.snapshot().endpoints.length);
    },
  });
  new client.Gauge({
    name: 'tether_networks',
    help: 'Networks tether holds',
    registers: [registry],
    collect() {
      this.set(parts.driver.snapshot().networks.length);
    },
  });
  dnsCounters(client, registry, parts.dnsStats);
  clusterCounters(client, registry, parts.clusterStats);

  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url !== '/metrics') {
      // The same probes as on the plugin's socket, for a kubelet or a load balancer that speaks TCP.
      answerProbe(request.url ?? '', parts.readiness).then(
        (answer) =>
          answer
            ? response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body))
            : response.writeHead(404).end('metrics are at /metrics, probes at /healthz and /readyz\n'),
        (error: Error) => response.writeHead(500).end(`${error.message}\n`),
      );
      return;
    }
    if (request.method !== 'GET') {
      response.writeHead(404).end('metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const bound = server.address();
  return {
    address: typeof bound === 'object' && bound ? `${bound.address}:${bound.port}` : `${listen.host}:${listen.port}`,
    observe(call, ok, seconds) {
      calls.inc({ method: call, result: ok ? 'ok' : 'error' });
      latency.observe({ method: call }, seconds);
      if (ok && call === 'IpamDriver.RequestAddress') allocations.inc();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The names service's counts, read at each scrape: queries, answers by rcode, refusals by rule, drops by reason. */
function dnsCounters(
  client: typeof import('prom-client'),
  registry: import('prom-client').Registry,
  stats: () => DnsStats | undefined,
): void {
  const counter = (name: string, help: string, label: string, read: (s: DnsStats) => ReadonlyMap<string, number>) =>
    new client.Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        const now = stats();
        this.reset();
        for (const [value, count] of now ? read(now) : []) this.inc({ [label]: value }, count);
      },
    });
  new client.Counter({
    name: 'tether_dns_queries_total',
    help: 'DNS queries the names service received',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats()?.queries ?? 0);
    },
  });
  counter('tether_dns_answers_total', 'DNS answers sent, by rcode', 'rcode', (s) => s.answers);
  counter('tether_dns_refusals_total', 'DNS queries refused before any work, by rule', 'rule', (s) => s.refusals);
  counter('tether_dns_drops_total', 'DNS queries dropped unanswered, by reason', 'reason', (s) => s.drops);
}

/** The cluster view's and overlay's counts, read at each scrape (cluster mode; none on one host). */
function clusterCounters(
  client: typeof import('prom-client'),
  registry: import('prom-client').Registry,
  stats: () => ClusterStats | undefined,
): void {
  const counter = (name: string, help: string, read: (s: ClusterStats) => number) =>
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = stats();
        this.reset();
        if (now) this.inc(read(now));
      },
    });
  new client.Counter({
    name: 'tether_cluster_records_skipped_total',
    help: 'Records of the cluster store left out as unreadable, by prefix (each revision of a key once)',
    labelNames: ['prefix'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [prefix, count] of stats()?.skipped ?? []) this.inc({ prefix }, count);
    },
  });
  counter(
    'tether_cluster_store_reads_total',
    'Whole reads of a prefix of the cluster store (start, lost watches)',
    (s) => s.reads,
  );
  counter(
    'tether_overlay_repairs_total',
    'Tunnel entries anti-entropy found wrong and put right',
    (s) => s.overlayRepairs,
  );
}
