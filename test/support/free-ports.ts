// Host ports for tests, chosen free when the test runs: on a host where Docker
// or tether already publishes a user's ports, a fixed port may be taken.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Below Linux's ephemeral range (32768-60999), where nothing is handed out on its own. */
const [LOW, HIGH] = [20_000, 32_000];

const bindsTcp = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });

const bindsUdp = (port: number, type: 'udp4' | 'udp6') =>
  new Promise<boolean>((resolve) => {
    const socket = createSocket({ type, ipv6Only: type === 'udp6' });
    socket.once('error', () => resolve(false));
    socket.bind(port, () => socket.close(() => resolve(true)));
  });

/** Whether the port is free on every address of the host, over TCP and UDP, IPv4 and IPv6. */
export async function isFree(port: number): Promise<boolean> {
  return (
    (await bindsTcp(port, '0.0.0.0')) &&
    (await bindsTcp(port, '::')) &&
    (await bindsUdp(port, 'udp4')) &&
    (await bindsUdp(port, 'udp6'))
  );
}

/** The first of `count` consecutive free ports. */
export async function freePorts(count = 1): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = LOW + Math.floor(Math.random() * (HIGH - LOW - count));
    let free = true;
    for (let port = first; free && port < first + count; port++) free = await isFree(port);
    if (free) return first;
  }
  throw new Error(`no ${count} consecutive free ports between ${LOW} and ${HIGH}`);
}
