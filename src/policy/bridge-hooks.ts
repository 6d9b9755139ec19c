// br_netfilter's hooks: while net.bridge.bridge-nf-call-iptables and
// -ip6tables are 1, traffic between two ports of one bridge passes the inet
// forward hook, where tether's policy table judges it; while they are 0 (Docker
// 28 and later no longer set them), it passes no table at all. So before a deny
// network is enforced, both are made 1 in tether's network namespace, and a
// host where that cannot be done gets no deny network (policies fail closed).
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TetherError } from '../errors.js';
import { run } from '../util/exec.js';

const HOOKS = ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables'] as const;
const MODPROBE_DEADLINE_MS = 10_000;
const WHY =
  "; without it traffic between containers of one bridge passes no firewall, so tether's policies cannot hold";

/** Turns both hooks on where they are off; returns the settings it changed; throws when it cannot. */
export async function ensureBridgeHooks(dir = '/proc/sys/net/bridge'): Promise<string[]> {
  const present = () =>
    access(join(dir, HOOKS[0])).then(
      () => true,
      () => false,
    );
  if (!(await present())) {
    const failed = await run('modprobe', ['br_netfilter'], undefined, MODPROBE_DEADLINE_MS).then(
      () => 'did not load it',
      (error: Error) => `failed (${error.message})`,
    );
    if (!(await present())) throw new TetherError('KERNEL', `br_netfilter is not loaded, and modprobe ${failed}${WHY}`);
  }
  const turned: string[] = [];
  for (const hook of HOOKS) {
    const path = join(dir, hook);
    const setting = `net.bridge.${hook}`;
    if ((await readFile(path, 'utf8')).trim() === '1') continue;
    const why = await writeFile(path, '1').then(
      () => undefined,
      (error: Error) => error.message,
    );
    const now = (await readFile(path, 'utf8')).trim();
    if (now !== '1') {
      throw new TetherError('KERNEL', `${setting} is ${now} and could not be set to 1${why ? ` (${why})` : ''}${WHY}`);
    }
    turned.push(setting);
  }
  return turned;
}
