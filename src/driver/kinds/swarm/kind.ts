// A swarm network (--scope global): as a cluster network, but known by its
// swarm ID, and swarm, not tether, creates and removes it on each node; its
// containers have swarm's names.
import type { NetworkRecord } from '../../records.js';
import { tunnelled } from '../cluster/kind.js';
import type { KindFacts } from '../facts.js';

export const swarmKind = (kind: Extract<NetworkRecord['kind'], { type: 'swarm' }>, network: NetworkRecord): KindFacts =>
  tunnelled(kind, network, 'swarm');
