// Network records as tether 0.1 stored them, before a network's kind was a
// type: the kind was read from optional fields (`cluster.swarm`, `uplink.mode`).
// Such a record is read into today's shape once, and written back so.
import { z } from 'zod';

const legacyNetwork = z.looseObject({
  bridge: z.string(),
  cluster: z
    .object({ name: z.string(), vni: z.number().int(), vxlan: z.string(), swarm: z.boolean().optional() })
    .optional(),
  uplink: z.looseObject({ mode: z.enum(['macvlan', 'bridge']) }).optional(),
});

/** Today's kind for the fields of a legacy record (the rest of the record is checked as today's). */
function kindOf({ bridge, cluster, uplink }: z.output<typeof legacyNetwork>) {
  if (uplink) {
    const { mode, ...data } = uplink;
    const span = cluster ? { span: { name: cluster.name, vni: cluster.vni } } : {};
    return mode === 'macvlan'
      ? { type: 'macvlan', uplink: data, ...span }
      : { type: 'bridged-uplink', bridge, uplink: data, ...span };
  }
  if (!cluster) return { type: 'bridge', bridge };
  const { swarm, vxlan: device, ...span } = cluster;
  return { type: swarm ? 'swarm' : 'cluster', bridge, ...span, device };
}

/** A legacy record in today's shape, as text; a record of today's shape passes unchanged. */
export function upgradeNetwork(raw: unknown): { text: unknown; upgraded: boolean } {
  if (typeof raw !== 'object' || raw === null || 'kind' in raw) return { text: raw, upgraded: false };
  const legacy = legacyNetwork.parse(raw);
  const { bridge: _bridge, cluster: _cluster, uplink: _uplink, ...rest } = legacy;
  return { text: { ...rest, kind: kindOf(legacy) }, upgraded: true };
}
