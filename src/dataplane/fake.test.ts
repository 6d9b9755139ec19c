// The in-memory fake the daemon tests stand on, held to the LinkPlane contract.
import { FakeLinks } from './fake.js';
import { linkPlaneContract } from './link-plane-contract.js';

linkPlaneContract('FakeLinks', async () => {
  const links = new FakeLinks();
  return {
    links,
    addNic: async (name, addresses = []) => links.addNic(name, [...addresses]),
    addDefaultRoute: async (dev) => void links.defaultRoutes.push(dev),
    peersOf: async (device) => {
      const peers = links.overlays.get(device) ?? [];
      return {
        fdb: peers.map((p) => [p.mac, p.vtep]).sort(),
        neighbours: peers.flatMap((p) => p.addresses.map((a) => [a, p.mac])).sort(),
      };
    },
    noVlans: async () => undefined,
    close: async () => undefined,
  };
});
