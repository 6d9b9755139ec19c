// What /readyz checks: the store takes a write (the daemon's own timer's),
// the cluster lease is held (cluster mode), the start-up reconcile is done,
// the firewall's chains are as the networks want them.
import type { Check } from '../operator/readiness.js';
import type { StoreBeat } from './store-beat.js';

export interface ReadinessDeps {
  readonly storeBeat: StoreBeat;
  readonly reconciled: { readonly ms: number; readonly bridgesRepaired: number; readonly endpointsFreed: number };
  readonly verifyFirewall: () => Promise<string[]>;
  readonly cluster?: { readonly registered: boolean };
}

export function readinessChecks(parts: ReadinessDeps): Check[] {
  const { storeBeat, reconciled, cluster } = parts;
  return [
    { name: 'store', run: () => storeBeat.check() },
    ...(cluster
      ? [
          {
            name: 'lease',
            run: async () => {
              if (!cluster.registered) throw new Error("this host's registration lease is not held; registering again");
              return 'held';
            },
          },
        ]
      : []),
    {
      name: 'reconcile',
      run: async () => {
        const { ms, bridgesRepaired, endpointsFreed } = reconciled;
        return `done in ${ms} ms (${bridgesRepaired} bridges repaired, ${endpointsFreed} endpoints freed)`;
      },
    },
    {
      name: 'firewall',
      run: async () => {
        const problems = await parts.verifyFirewall();
        if (problems.length > 0) throw new Error(problems.join('; '));
        return "tether's chains are as its networks want them";
      },
    },
  ];
}
