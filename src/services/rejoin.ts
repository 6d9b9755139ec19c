// A host the others took for dead while it was only cut off finds its records deleted when it
// registers again. It writes its networks and endpoints back, claims back its pools and every
// address still free, and republishes its endpoints, leaving out those whose address another
// host took meanwhile (that container now conflicts; the audit names it).
import type { Logger } from 'pino';
import type { Cluster } from '../cluster/cluster.js';
import type { Driver } from '../driver/driver.js';
import type { SharedTenancy } from '../ipam/shared.js';

export const rejoin = (driver: Driver, shared: SharedTenancy, cluster: Cluster, log: Logger) => async () => {
  await driver.rewriteRecords();
  const lost = await shared.reclaim();
  for (const problem of lost.problems) {
    log.error({ problem }, 'lost to another host while this one was taken for dead; the container using it conflicts');
  }
  const conflicting = new Set(lost.addresses);
  await cluster.republish(driver.clusterMembers().filter((m) => !m.addresses.some((a) => conflicting.has(a))));
  log.info({ lost: lost.problems.length }, "claimed back this host's records after registering again");
};
