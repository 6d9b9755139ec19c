// The metrics endpoint's DNS and cluster counters, read from the names service's and the
// cluster's counts at each scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Driver } from '../driver/driver.js';
import type { PoolReport } from '../ipam/report.js';
import { DnsStats } from '../names/stats.js';
import type { Readiness } from '../operator/readiness.js';
import { startMetrics } from './metrics.js';

test('DNS queries, answers, refusals, drops; records skipped, store reads, overlay repairs are exported', async () => {
  const stats = new DnsStats();
  stats.queries = 5;
  stats.answered('NOERROR');
  stats.dropped('rate');
  stats.dropped('rate');
  stats.refused('size');
  const metrics = await startMetrics(
    { host: '127.0.0.1', port: 0 },
    {
      driver: { snapshot: () => ({ networks: [], endpoints: [] }) } as unknown as Driver,
      pools: { usage: () => [] } as unknown as PoolReport,
      readiness: {} as Readiness,
      dnsStats: () => stats,
      clusterStats: () => ({ skipped: new Map([['cluster/members/', 2]]), reads: 4, overlayRepairs: 3 }),
    },
  );
  try {
    const text = await (await fetch(`http://${metrics.address}/metrics`)).text();
    const dns = text.split('\n').filter((line) => line.startsWith('tether_dns'));
    assert.deepEqual(dns.sort(), [
      'tether_dns_answers_total{rcode="NOERROR"} 1',
      'tether_dns_drops_total{reason="rate"} 2',
      'tether_dns_queries_total 5',
      'tether_dns_refusals_total{rule="size"} 1',
    ]);
    const cluster = text.split('\n').filter((line) => /^tether_(cluster|overlay)/.test(line));
    assert.deepEqual(cluster.sort(), [
      'tether_cluster_records_skipped_total{prefix="cluster/members/"} 2',
      'tether_cluster_store_reads_total 4',
      'tether_overlay_repairs_total 3',
    ]);
  } finally {
    await metrics.close();
  }
});
