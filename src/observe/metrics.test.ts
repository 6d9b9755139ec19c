// The metrics endpoint's DNS counters, read from the names service's counts at each scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Driver } from '../driver/driver.js';
import type { PoolReport } from '../ipam/report.js';
import { DnsStats } from '../names/stats.js';
import type { Readiness } from '../operator/readiness.js';
import { startMetrics } from './metrics.js';

test('DNS queries, answers by rcode, refusals by rule and drops by reason are exported', async () => {
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
  } finally {
    await metrics.close();
  }
});
