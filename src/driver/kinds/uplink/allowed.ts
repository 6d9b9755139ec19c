// The host interfaces networks may use (--uplinks, TETHER_UPLINKS): Contiv's
// iflist, with a logical name per entry so that one cluster network works on
// hosts whose NICs are named differently (data=eth1 here, data=ens4 there).
// An interface the host itself lives on (its default route, the cluster's
// tunnel address) is refused unless its entry says ":shared".
import { invalidOption } from '../../../errors.js';
import { INTERFACE_NAME } from './options.js';

export interface Uplink {
  /** What networks name it by: the logical name, or the interface's own. */
  readonly name: string;
  /** This host's interface. */
  readonly iface: string;
  /** The operator allows it although the host's own traffic uses it. */
  readonly shared: boolean;
}

const ENTRY = /^(?:([A-Za-z0-9][A-Za-z0-9_.-]{0,14})=)?([A-Za-z0-9][A-Za-z0-9_.-]{0,14})(:shared)?$/;

/** "eth1,data=ens4,mgmt=eth0:shared"; empty: no host interface may be used. */
export function parseUplinks(text: string): Uplink[] {
  const uplinks: Uplink[] = [];
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = ENTRY.exec(entry);
    const iface = match?.[2];
    if (!match || !iface || !INTERFACE_NAME.test(iface)) {
      throw new Error(`--uplinks ${entry}: expected [NAME=]INTERFACE[:shared], such as eth1 or data=ens4`);
    }
    const name = match[1] ?? iface;
    if (uplinks.some((u) => u.name === name)) throw new Error(`--uplinks: ${name} is named twice`);
    uplinks.push({ name, iface, shared: match[3] !== undefined });
  }
  return uplinks;
}

/** The allowed uplink a network's option names; a clear error for any other. */
export function resolveUplink(uplinks: readonly Uplink[], name: string): Uplink {
  const uplink = uplinks.find((u) => u.name === name);
  if (uplink) return uplink;
  const allowed = uplinks.length ? `it allows ${uplinks.map((u) => u.name).join(', ')}` : 'it allows none';
  throw invalidOption(
    `interface ${name} is not one of this host's uplinks (tether serve --uplinks, TETHER_UPLINKS): ${allowed}`,
  );
}
