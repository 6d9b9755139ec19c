// PortKeeper on real sockets: a listening TCP socket or a bound UDP socket per
// published port. Packets never reach them (DNAT rewrites them first); they
// exist so that the kernel itself says whether a port is free.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { TetherError } from '../errors.js';
import { formatIp } from '../net/ip.js';
import type { HostPort, PortKeeper } from './dataplane.js';

type Held = Server | UdpSocket;

const anyAddress = (family: 4 | 6) => (family === 4 ? '0.0.0.0' : '::');

export class SocketPortKeeper implements PortKeeper {
  private readonly held = new Map<string, Held>();

  async hold({ proto, hostIp, family, port }: HostPort): Promise<number> {
    const address = hostIp ? formatIp(hostIp) : anyAddress(family);
    const socket = proto === 'tcp' ? await listenTcp(address, port, family) : await bindUdp(address, port, family);
    const bound = proto === 'tcp' ? (socket as Server).address() : (socket as UdpSocket).address();
    const actual = typeof bound === 'object' && bound ? bound.port : port;
    this.held.set(`${proto}/${address}/${actual}`, socket);
    return actual;
  }

  async release({ proto, hostIp, family, port }: HostPort): Promise<void> {
    const key = `${proto}/${hostIp ? formatIp(hostIp) : anyAddress(family)}/${port}`;
    const socket = this.held.get(key);
    this.held.delete(key);
    await new Promise<void>((done) => (socket ? socket.close(() => done()) : done()));
  }
}

const inUse = (proto: string, address: string, port: number, error: Error) =>
  new TetherError(
    'CONFLICT',
    `host port ${address === '0.0.0.0' || address === '::' ? '' : `${address}:`}${port}/${proto} is not ` +
      `available: ${(error as NodeJS.ErrnoException).code ?? error.message}`,
  );

function listenTcp(address: string, port: number, family: 4 | 6): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((connection) => connection.destroy());
    server.once('error', (error) => reject(inUse('tcp', address, port, error)));
    server.listen({ host: address, port, ipv6Only: family === 6, exclusive: true }, () => resolve(server));
  });
}

function bindUdp(address: string, port: number, family: 4 | 6): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
    socket.once('error', (error) => reject(inUse('udp', address, port, error)));
    socket.bind({ address, port, exclusive: true }, () => resolve(socket));
  });
}
