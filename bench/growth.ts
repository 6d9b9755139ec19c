// How tether's costs grow (issue 15): each curve is given as the ratio of every
// point to its smallest, beside what linear growth would give, so a step worse
// than linear shows. The firewall sync is timed on the real iptables with
// chains of the benchmark's own; reconcile, restart and RSS on a daemon filled
// with real veth endpoints.
import { randomBytes } from 'node:crypto';
import { chainsFor, IpTables } from '../src/dataplane/iptables.js';
import { parsePrefix } from '../src/net/ip.js';
import { type Environment, Tether } from '../test/e2e/harness.js';
import { call, createNetworkByCalls, inFlight, rssMb, timed } from './calls.js';
import { type Figure, summarize } from './stats.js';

const hex = () => randomBytes(32).toString('hex');

/** One figure per point after the first: its ratio to the first, against linear growth. */
function curve(name: string, unit: string, points: readonly (readonly [number, number])[], figures: Figure[]): void {
  const [first, ...rest] = points;
  if (!first) return;
  for (const [size, value] of rest) {
    const ratio = value / first[1];
    const linear = size / first[0];
    figures.push({
      name: `${name}: ${size} against ${first[0]}`,
      value: `${value.toFixed(1)} against ${first[1].toFixed(1)} ${unit}, ratio ${ratio.toFixed(2)}`,
      goal: `<= ${linear.toFixed(0)} (linear)`,
      met: ratio <= linear,
    });
  }
}

/** A firewall sync (both families, iptables-restore) with 1, 100 and 500 networks, median of 5. */
export async function firewallGrowth(figures: Figure[]): Promise<void> {
  const firewall = new IpTables(chainsFor('tgrowth'));
  const subnet = parsePrefix('10.230.0.0/24');
  if (!subnet) throw new Error('bad subnet');
  const points: [number, number][] = [];
  try {
    for (const count of [1, 100, 500]) {
      const samples: number[] = [];
      for (let round = 0; round < 6; round++) {
        // Each round differs from the last (one network's NAT flips), so nothing is skipped as unchanged.
        const networks = Array.from({ length: count }, (_, i) => ({
          bridge: `tgr${i}`,
          internal: false,
          lan: false,
          nat: i !== 0 || round % 2 === 0,
          subnets: [subnet],
          ports: [],
        }));
        const ms = await timed(() => firewall.sync(networks));
        if (round > 0) samples.push(ms);
      }
      points.push([count, summarize(samples).median]);
    }
  } finally {
    await firewall.sync([]);
  }
  curve('firewall sync, networks', 'ms', points, figures);
}

/** A Linux bridge takes at most 1,024 ports: endpoints go on networks of at most this many each. */
const PER_NETWORK = 1_000;

/** A network on a /22 of 10.230.0.0/19 (the i-th), through the plugin calls docker network create makes. */
async function growthNetwork(tether: Tether, i: number): Promise<{ networkId: string; poolId: string }> {
  const networkId = hex();
  const poolId = await createNetworkByCalls(tether, networkId, `10.230.${i * 4}.0/22`, { 'tether.nat': 'false' });
  return { networkId, poolId };
}

/** Restart to ready and the reconcile with 100, 1,000 and 5,000 endpoints; RSS per 1,000 endpoints. */
export async function endpointGrowth(env: Environment, figures: Figure[]): Promise<void> {
  // Endpoints never joined would count as abandoned after the grace, and be freed by the reconcile measured.
  const tether = new Tether(env.work, 'tethergrowth', 'tbg', ['--log-level', 'info', '--orphan-grace', '3600']);
  await tether.start();
  const networks: { networkId: string; poolId: string }[] = [];
  const endpoints: { networkId: string; endpoint: string }[] = [];
  const restarts: [number, number][] = [];
  const reconciles: [number, number][] = [];
  const rss: [number, number][] = [];
  try {
    for (const size of [100, 1_000, 5_000]) {
      while (networks.length * PER_NETWORK < size) networks.push(await growthNetwork(tether, networks.length));
      const start = endpoints.length;
      await inFlight(size - start, 8, async (i) => {
        const { networkId, poolId } = networks[Math.floor((start + i) / PER_NETWORK)] ?? { networkId: '' };
        const endpoint = hex();
        const request = { PoolID: poolId, Address: '', Options: {} };
        const { Address: address } = await call(tether, 'IpamDriver.RequestAddress', request);
        const body = { NetworkID: networkId, EndpointID: endpoint, Interface: { Address: address }, Options: {} };
        await call(tether, 'NetworkDriver.CreateEndpoint', body);
        endpoints.push({ networkId, endpoint });
      });
      rss.push([size, rssMb(tether.pid)]);
      await tether.kill();
      restarts.push([size, await timed(() => tether.start())]);
      const logged = [...tether.log.matchAll(/"ms":(\d+),"msg":"reconciled the kernel with the store"/g)].at(-1);
      reconciles.push([size, Number(logged?.[1] ?? Number.NaN)]);
    }
  } finally {
    await inFlight(endpoints.length, 8, async (i) => {
      const { networkId, endpoint } = endpoints[i] ?? { networkId: '', endpoint: '' };
      await call(tether, 'NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpoint });
    });
    for (const { networkId } of networks) await call(tether, 'NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    await tether.stop();
  }
  curve('restart to socket ready (kill -9), endpoints', 'ms', restarts, figures);
  curve('reconcile at start, endpoints', 'ms', reconciles, figures);
  const [small, , large] = rss;
  if (small && large) {
    const perThousand = ((large[1] - small[1]) / (large[0] - small[0])) * 1_000;
    figures.push({
      name: `daemon RSS per 1,000 endpoints (${small[0]} to ${large[0]})`,
      value: `${perThousand.toFixed(1)} MB (${[small, large].map(([n, mb]) => `${mb.toFixed(0)} at ${n}`).join(', ')})`,
      // Our own bar: a full /16 (65,000 endpoints) must not need a gigabyte.
      goal: '<= 10 MB',
      met: perThousand <= 10,
    });
  }
}
