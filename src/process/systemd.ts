// Telling systemd how tether is (Type=notify): READY=1 once the socket serves,
// then WATCHDOG=1 at half the unit's WatchdogSec while tether is well. Sent
// through systemd-notify, naming tether's pid, since Node has no datagram
// UNIX sockets; outside systemd (no NOTIFY_SOCKET) nothing is sent.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface Systemd {
  ready(): void;
  watchdog(): void;
  /** How often systemd wants WATCHDOG=1 (half its WatchdogSec); undefined without a watchdog. */
  readonly watchdogIntervalMs?: number;
}

export function systemdFromEnvironment(env: NodeJS.ProcessEnv, log: Logger): Systemd | undefined {
  if (!env['NOTIFY_SOCKET']) return undefined;
  const send = (state: string) =>
    execFile('systemd-notify', [`--pid=${process.pid}`, state], (error) => {
      if (error) log.warn({ state, err: error.message }, 'telling systemd failed');
    });
  const usec = Number(env['WATCHDOG_USEC']);
  const watchdogPid = Number(env['WATCHDOG_PID'] ?? process.pid);
  const watched = Number.isFinite(usec) && usec > 0 && watchdogPid === process.pid;
  return {
    ready: () => send('--ready'),
    watchdog: () => send('WATCHDOG=1'),
    ...(watched ? { watchdogIntervalMs: Math.max(500, Math.floor(usec / 2000)) } : {}),
  };
}
