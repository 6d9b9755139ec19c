// What a host of the cluster is told at start: its name, its tunnel's end, and the timings.
export interface ClusterSettings {
  readonly host: string;
  /**
   * Made once per state directory and kept in the host's own store: a restart of this host takes
   * its name back at once, another machine started with the same name is refused.
   */
  readonly identity: string;
  /** Made at each start: which start of this host holds its registration (cluster/name-holder.ts). */
  readonly nonce: string;
  /** The nonce of the last start of this host that registered: its registration is this host's own. */
  readonly previousNonce?: string;
  /** This host's tunnel address, and the MTU of the link it is on. */
  readonly vtep: string;
  readonly underlayMtu: number;
  readonly hostTtlSeconds: number;
  readonly deadHostGraceMs: number;
}
