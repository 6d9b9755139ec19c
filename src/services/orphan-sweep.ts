// A crash between RequestAddress and its reply makes Docker ask again, and the first address is
// orphaned. Addresses that nothing uses at start-up and still nothing uses after the grace period
// are freed; a live container's address is in use within milliseconds, never that long.
import type { Logger } from 'pino';
import { type AuditedDriver, unusedAddresses } from '../audit.js';
import type { Ipam } from '../ipam/ipam.js';
import type { PoolReport } from '../ipam/report.js';
import { parseIp } from '../net/ip.js';
import { parsePoolId } from '../protocol/pool-id.js';

export interface SweepParts {
  readonly driver: AuditedDriver;
  readonly ipam: Ipam;
  readonly report: PoolReport;
  readonly log: Logger;
}

/** Notes the unused addresses now and frees those still unused after the grace; returns a cancel. */
export async function scheduleOrphanSweep(parts: SweepParts, graceMs: number): Promise<() => void> {
  const { driver, ipam, report, log } = parts;
  const key = ([pool, address]: [string, string]) => `${pool} ${address}`;
  const suspects = new Set((await unusedAddresses(driver, report)).map(key));
  const sweep = async () => {
    for (const orphan of await unusedAddresses(driver, report)) {
      const [poolText, addressText] = orphan;
      const poolId = parsePoolId(poolText);
      const address = parseIp(addressText);
      if (!suspects.has(key(orphan)) || !poolId || !address) continue;
      await ipam.releaseAddress(poolId, address);
      log.info({ pool: poolText, address: addressText }, 'freed an address nothing used since start-up');
    }
  };
  const timer = setTimeout(() => {
    sweep().catch((error: unknown) => log.error({ err: error }, 'orphan address sweep failed'));
  }, graceMs);
  timer.unref();
  return () => clearTimeout(timer);
}
