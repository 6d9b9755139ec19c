// The seam between the driver and the kernel objects a network is made of. A
// mode says how to build, repair and remove a network's objects and give an
// endpoint its interface; the driver decides when. A new kind of network is a
// folder of its own under kinds/ with its mode, which modes.ts picks by the
// record's kind.
import type { Link } from '../../dataplane/dataplane.js';
import type { EndpointRecord, NetworkRecord } from '../records.js';
import type { Step } from '../steps.js';

export interface NetworkMode {
  /** Refuses a network whose objects would clash with the host's (before anything is recorded). */
  checkNetwork(network: NetworkRecord): Promise<void>;
  /** Steps that build the network's kernel objects, each with its undo. */
  buildNetwork(network: NetworkRecord): Step[];
  /** Brings existing objects back to the record (after a reboot, or a link someone deleted). */
  repairNetwork(network: NetworkRecord): Promise<void>;
  /** Removes the network's objects; what is gone already is not an error. */
  removeNetwork(network: NetworkRecord): Promise<void>;
  /** Steps that give the endpoint the interface Docker moves into the container. */
  buildEndpoint(network: NetworkRecord, endpoint: EndpointRecord): Step[];
  /**
   * Puts an endpoint's host side back where it belongs, judged from the host's links: those given
   * (a caller repairing many lists them once), or listed now.
   */
  repairEndpoint(network: NetworkRecord, endpoint: EndpointRecord, links?: readonly Link[]): Promise<void>;
  removeEndpoint(endpoint: EndpointRecord): Promise<void>;
  /** Whether the network's objects are there as the record says (the audit and the start-up repair ask). */
  networkIntact(network: NetworkRecord, links: ReadonlyMap<string, Link>): boolean;
  /** The links the network's objects are: none of them is an orphan. */
  networkLinks(network: NetworkRecord): string[];
  /** The endpoint's interface as the host's links show it. */
  endpointView(network: NetworkRecord, endpoint: EndpointRecord, links: ReadonlyMap<string, Link>): EndpointView;
}

export interface EndpointView {
  /**
   * Whether the container's interface still exists, as a link on the host shows it (a veth's host
   * end vanishes with the container's namespace); undefined where nothing on the host shows it.
   */
  readonly alive: boolean | undefined;
  /** The interface Docker moves into the container is on the host. */
  readonly peerOnHost: boolean;
  /** How the interface sits on the host: absent, or there but off its bridge or down. */
  readonly placement: 'ok' | 'missing' | 'detached';
}
