// Addresses of tether's networks that no endpoint uses: a crash between
// RequestAddress and its reply (Docker asks again, and the first address is
// orphaned), or in cluster mode an endpoint's write that timed out and landed
// after Docker heard the call fail, whose member record the start's or a
// rejoin's republish withdrew. Each collection round notes them; one still
// unused after the orphan grace is freed. A live container's address is in use
// within milliseconds of its allocation, never that long.
import type { Logger } from 'pino';
import { type AuditedDriver, unusedAddresses } from '../audit.js';
import type { Ipam } from '../ipam/ipam.js';
import type { PoolReport } from '../ipam/report.js';
import { parseIp } from '../net/ip.js';
import { parsePoolId } from '../protocol/pool-id.js';

export interface SweepDeps {
  readonly driver: AuditedDriver;
  readonly ipam: Ipam;
  readonly report: PoolReport;
  readonly log: Logger;
}

/**
 * Notes the unused addresses now, and frees those still unused when the grace has passed; returns
 * the round for each collection, and a cancel.
 */
export async function scheduleOrphanSweep(
  parts: SweepDeps,
  graceMs: number,
): Promise<{ round: () => Promise<void>; cancel: () => void }> {
  const round = orphanSweep(parts, graceMs);
  await round();
  // Start-up's suspects go when their grace ends, whatever --gc-interval says.
  const timer = setTimeout(() => {
    round().catch((error: unknown) => parts.log.warn({ err: error }, 'orphan address sweep failed'));
  }, graceMs + 1);
  timer.unref();
  return { round, cancel: () => clearTimeout(timer) };
}

/** A round of the sweep: notes what is unused now, frees what has been unused longer than the grace. */
function orphanSweep(parts: SweepDeps, graceMs: number): () => Promise<void> {
  const { driver, ipam, report, log } = parts;
  /** "pool address" to when it was first seen unused. */
  let suspects = new Map<string, number>();
  return async () => {
    const now = Date.now();
    const seen = new Map<string, number>();
    for (const orphan of await unusedAddresses(driver, report)) {
      const [poolText, addressText] = orphan;
      const key = `${poolText} ${addressText}`;
      const since = suspects.get(key) ?? now;
      const poolId = parsePoolId(poolText);
      const address = parseIp(addressText);
      if (now - since < graceMs || since === now || !poolId || !address) {
        seen.set(key, since);
        continue;
      }
      await ipam.releaseAddress(poolId, address);
      log.info({ pool: poolText, address: addressText }, 'freed an address nothing used for the orphan grace');
    }
    suspects = seen;
  };
}
