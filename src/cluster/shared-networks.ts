// The networks that span the cluster, each recorded once in etcd with what
// `docker network create` needs on another host, and a VNI of its own; and
// swarm's networks (--scope global), known by their swarm ID, with a VNI from
// the same numbers.
import type { ClusterNetworkSpec } from '../driver/seams.js';
import { conflict } from '../errors.js';
import type { Store } from '../store/store.js';
import { retryCas } from '../util/retry.js';
import {
  type ClusterNetworkRecord,
  clusterNetworkRecord,
  NETWORKS,
  SWARM_NETWORKS,
  sameNetwork,
  swarmNetworkRecord,
  VNIS,
} from './records.js';

export class SharedNetworks {
  constructor(private readonly store: Store) {}

  /**
   * Records a network cluster-wide, or checks that it matches the record another host made.
   * A new network takes the lowest free VNI, reserved in the same commit.
   */
  async claim(wanted: ClusterNetworkSpec): Promise<{ vni: number; created: boolean }> {
    const key = NETWORKS + wanted.name;
    // Other hosts may claim this network, or another one's VNI, at the same moment.
    return retryCas(`cluster network ${wanted.name}`, async () => {
      const existing = await this.store.get(key);
      if (existing) {
        const record = clusterNetworkRecord.parse(JSON.parse(existing.value));
        if (!sameNetwork(record, { ...wanted, vni: record.vni })) {
          const subnets = record.ipam.map((i) => i.subnet).join(', ');
          throw conflict(`cluster network ${wanted.name} already exists with other settings (subnets ${subnets})`);
        }
        return { vni: record.vni, created: false };
      }
      const vni = await this.recordWithNewVni(key, wanted.name, (v) => {
        const record: ClusterNetworkRecord = { ...wanted, vni: v };
        return JSON.stringify(record);
      });
      return vni === undefined ? undefined : { vni, created: true };
    });
  }

  /** Writes a new record with the lowest free VNI, reserved for `owner` in the same commit; undefined if raced. */
  private async recordWithNewVni(
    key: string,
    owner: string,
    value: (vni: number) => string,
  ): Promise<number | undefined> {
    const used = new Set((await this.store.list(VNIS)).map((e) => Number(e.key.slice(VNIS.length))));
    let vni = 1;
    while (used.has(vni)) vni++;
    const absent = [
      { key, revision: 0 },
      { key: VNIS + vni, revision: 0 },
    ];
    const writes = [
      { type: 'put' as const, key, value: value(vni) },
      { type: 'put' as const, key: VNIS + vni, value: owner },
    ];
    return (await this.store.commit(absent, writes)) ? vni : undefined;
  }

  /** Deletes a record and its VNI, if the record is still as read. */
  private async removeWithVni(key: string, vniOf: (value: string) => number): Promise<void> {
    const entry = await this.store.get(key);
    if (!entry) return;
    await this.store.commit(
      [{ key, revision: entry.revision }],
      [
        { type: 'delete', key },
        { type: 'delete', key: VNIS + vniOf(entry.value) },
      ],
    );
  }

  /** Records a swarm network at its allocation on the manager (again, after a restart): its VNI. */
  async allocateSwarm(networkId: string, subnets: readonly string[]): Promise<number> {
    const key = SWARM_NETWORKS + networkId;
    return retryCas(`swarm network ${networkId}`, async () => {
      const existing = await this.store.get(key);
      if (existing) return swarmNetworkRecord.parse(JSON.parse(existing.value)).vni;
      return this.recordWithNewVni(key, `swarm:${networkId}`, (vni) => JSON.stringify({ networkId, vni, subnets }));
    });
  }

  /** A swarm network's VNI, if its manager allocated it. */
  async swarmVni(networkId: string): Promise<number | undefined> {
    const entry = await this.store.get(SWARM_NETWORKS + networkId);
    return entry && swarmNetworkRecord.parse(JSON.parse(entry.value)).vni;
  }

  /** Swarm freed the network: its record and VNI go (nodes delete their part when Docker says). */
  freeSwarm(networkId: string): Promise<void> {
    return this.removeWithVni(SWARM_NETWORKS + networkId, (value) => swarmNetworkRecord.parse(JSON.parse(value)).vni);
  }

  /** Removes a network from the cluster; every other host's tether then removes it from its Docker. */
  drop(name: string): Promise<void> {
    return this.removeWithVni(NETWORKS + name, (value) => clusterNetworkRecord.parse(JSON.parse(value)).vni);
  }
}
