// `tether doctor` in cluster mode: are the cluster's names served, and does
// Docker send its containers' lookups there? The second is a one-time setting
// of Docker's that tether cannot make for the operator without restarting Docker.
import { readdir, readFile } from 'node:fs/promises';
import { readCluster } from './client.js';
import type { Finding } from './finding.js';

export async function namesFindings(socket: string, daemonJson = '/etc/docker/daemon.json'): Promise<Finding[]> {
  const view = await readCluster(socket).catch(() => undefined);
  if (!view?.enabled || !view.namesService) return [];
  const { address, serving } = view.namesService;
  const configured = await dockerDns(daemonJson);
  return [
    {
      check: 'cluster names',
      ok: serving,
      detail: serving ? `served on ${address}:53` : `not served on ${address}:53 (the log says why)`,
      ...(serving ? {} : { fix: `free port 53 on ${address}, or choose another with --names-addr` }),
    },
    {
      check: "Docker's dns",
      ok: configured.includes(address),
      detail: configured.length ? `Docker's dns: ${configured.join(', ')}` : "Docker's daemon-wide dns is not set",
      ...(configured.includes(address)
        ? {}
        : {
            fix:
              `put "dns": ["${address}"] in ${daemonJson} and restart Docker: containers then find ` +
              "the containers of other hosts by name (their own host's names keep coming from Docker)",
          }),
    },
  ];
}

/** The dns of daemon.json and of every running dockerd's --dns flags. */
async function dockerDns(daemonJson: string): Promise<string[]> {
  const servers: string[] = [];
  const settings = await readFile(daemonJson, 'utf8').then(
    (text) => JSON.parse(text) as { dns?: unknown },
    () => ({}) as { dns?: unknown },
  );
  if (Array.isArray(settings.dns)) servers.push(...settings.dns.filter((s): s is string => typeof s === 'string'));
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const args = command.split('\0');
    if (!args[0]?.endsWith('dockerd')) continue;
    args.forEach((arg, i) => {
      if (arg === '--dns' && args[i + 1]) servers.push(args[i + 1] ?? '');
      else if (arg.startsWith('--dns=')) servers.push(arg.slice('--dns='.length));
    });
  }
  return [...new Set(servers)];
}
