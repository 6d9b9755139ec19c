// Published ports (-p, -P): a host port held for each address family a binding
// covers, then the DNAT rules in one firewall sync.
import type { PublishedPort } from '../dataplane/dataplane.js';
import { invalidOption } from '../errors.js';
import { bracketed } from '../net/ip.js';
import type { EndpointRef, ExternalConnectivityRequest, PortRequest } from '../protocol/network.js';
import type { DriverContext } from './context.js';
import { kindOf } from './kinds/kind-of.js';
import { addressesOf, type EndpointRecord } from './records.js';

export const describePort = (p: PublishedPort) =>
  `${p.hostIp ? bracketed(p.hostIp) : ''}:${p.hostPort}->${bracketed(p.containerIp)}:${p.containerPort}/${p.proto}`;

export class Publishing {
  constructor(private readonly ctx: DriverContext) {}

  async program(request: ExternalConnectivityRequest): Promise<void> {
    const { state, firewall, log } = this.ctx;
    const endpoint = state.endpoint(request);
    const network = state.network(request.networkId);
    const republished = endpoint.ports.length > 0;
    const bare = republished ? await this.unpublish(endpoint) : endpoint;
    if (network.internal || request.ports.length === 0) {
      if (republished) await firewall.sync();
      return;
    }
    const { uplink } = kindOf(network);
    if (uplink) {
      throw invalidOption(
        `ports are not published on network ${network.id.slice(0, 12)}: it is on host interface ` +
          `${uplink.link}, where its containers have addresses of their own; reach them there`,
      );
    }
    const published: PublishedPort[] = [];
    try {
      for (const binding of request.ports) published.push(...(await this.hold(bare, binding)));
      await state.persist({ type: 'putEndpoint', endpoint: { ...bare, ports: published } });
    } catch (error) {
      await this.release(published);
      if (republished) await firewall.sync();
      throw error;
    }
    await firewall.sync();
    log.info({ endpoint: endpoint.id, ports: published.map(describePort) }, 'ports published');
  }

  async revoke(request: EndpointRef): Promise<void> {
    const endpoint = this.ctx.state.endpoints.get(request.endpointId);
    if (!endpoint || endpoint.ports.length === 0) return;
    await this.unpublish(endpoint);
    await this.ctx.firewall.sync();
  }

  /** Holds the ports the store says are published (at start-up, after a restart). */
  async holdRecorded(): Promise<void> {
    for (const endpoint of this.ctx.state.endpoints.values()) {
      for (const port of endpoint.ports) {
        await this.ctx.ports
          .hold(hostPortOf(port))
          .catch((error: unknown) =>
            this.ctx.log.warn(
              { port: describePort(port), err: (error as Error).message },
              'a published port is taken by another process; its rules stay',
            ),
          );
      }
    }
  }

  /** Forgets the endpoint's ports in the store, then lets the host ports go. */
  private async unpublish(endpoint: EndpointRecord): Promise<EndpointRecord> {
    const bare = { ...endpoint, ports: [] };
    await this.ctx.state.persist({ type: 'putEndpoint', endpoint: bare });
    await this.release(endpoint.ports);
    return bare;
  }

  private async release(ports: readonly PublishedPort[]): Promise<void> {
    for (const port of ports) await this.ctx.ports.release(hostPortOf(port));
  }

  /** Holds a host port for each address family the binding covers; a range takes its first free port. */
  private async hold(endpoint: EndpointRecord, binding: PortRequest): Promise<PublishedPort[]> {
    const proto = binding.proto === 6 ? 'tcp' : binding.proto === 17 ? 'udp' : undefined;
    if (!proto) throw invalidOption(`tether publishes TCP and UDP ports, not protocol ${binding.proto}`);
    const { hostIp } = binding;
    const targets = addressesOf(endpoint).filter((a) => !hostIp || hostIp.version === a.address.version);
    if (targets.length === 0) {
      const where = hostIp ? bracketed(hostIp) : 'the host';
      throw invalidOption(`cannot publish on ${where}: the container has no address of that family`);
    }
    const held: PublishedPort[] = [];
    try {
      for (const target of targets) {
        // Both families of one binding share the host port that the first one got.
        const first = held[0]?.hostPort ?? binding.hostPort;
        const last = held[0]?.hostPort ?? binding.hostPortEnd;
        const port = {
          containerIp: target.address,
          containerPort: binding.containerPort,
          ...(hostIp ? { hostIp } : {}),
        };
        const hostPort = await this.holdInRange({ proto, hostPort: first, ...port }, last);
        held.push({ proto, hostPort, ...port });
      }
    } catch (error) {
      await this.release(held);
      throw error;
    }
    return held;
  }

  private async holdInRange(port: PublishedPort, last: number): Promise<number> {
    for (let hostPort = port.hostPort; ; hostPort++) {
      try {
        return await this.ctx.ports.hold(hostPortOf({ ...port, hostPort }));
      } catch (error) {
        if (hostPort >= last) throw error;
      }
    }
  }
}

/** The host port a published port holds. */
export const hostPortOf = (p: PublishedPort) => ({
  proto: p.proto,
  family: p.containerIp.version,
  port: p.hostPort,
  ...(p.hostIp ? { hostIp: p.hostIp } : {}),
});
