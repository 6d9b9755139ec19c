// The --store URL for etcd, parsed without loading the etcd client.

/** Parses "etcd://host:port[,host:port...]" into the client's endpoints. */
export function parseEtcdUrl(url: string): string[] {
  const match = /^etcd:\/\/(.+)$/.exec(url);
  const hosts = match?.[1]?.split(',') ?? [];
  if (hosts.length === 0 || hosts.some((h) => !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(h))) {
    throw new Error(`--store ${url}: expected etcd://host:port[,host:port...]`);
  }
  return hosts.map((h) => `http://${h}`);
}
