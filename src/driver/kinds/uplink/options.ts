// The options of a network on one of the host's own interfaces: -o
// tether.parent=IFACE (a macvlan per endpoint) or -o tether.uplink=IFACE (the
// network's bridge with the interface enslaved), with -o tether.vlan=ID and -o
// tether.host-shim=true. IFACE is a name the daemon's --uplinks allows.
import { invalidOption } from '../../../errors.js';

/** What the options ask for; the daemon's --uplinks turns the name into this host's interface. */
export interface UplinkOptions {
  /** -o tether.parent: a macvlan per endpoint; -o tether.uplink: the interface on the network's bridge. */
  readonly kind: 'macvlan' | 'bridged-uplink';
  /** The interface as the option names it: an interface, or a logical name from --uplinks. */
  readonly name: string;
  /** An 802.1q tag: endpoints go on the sub-interface NAME.ID, which tether makes. */
  readonly vlan?: number;
  /** The host gets an address on the network, so that it reaches the containers and they reach it. */
  readonly hostShim: boolean;
}

export const MODE_KEY = 'tether.mode';
const PARENT_KEYS = ['tether.parent', 'parent'];
const UPLINK_KEY = 'tether.uplink';
const VLAN_KEY = 'tether.vlan';
const SHIM_KEY = 'tether.host-shim';
export const UPLINK_OPTION_KEYS = [MODE_KEY, ...PARENT_KEYS, UPLINK_KEY, VLAN_KEY, SHIM_KEY];

/** Linux interface names: at most 15 bytes, no slash, no whitespace; kept to a safe alphabet. */
export const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export const checkInterfaceName = (key: string, value: string): string => {
  if (!INTERFACE_NAME.test(value)) {
    throw invalidOption(`option ${key}: "${value}" is not a valid interface name (letters, digits, "_.-", at most 15)`);
  }
  return value;
};

/** The uplink the options ask for, or undefined for an ordinary bridge network; refuses what does not fit together. */
export function parseUplinkOptions(generic: Readonly<Record<string, string>>): UplinkOptions | undefined {
  const given = (keys: readonly string[]) => keys.flatMap((key) => (key in generic ? [[key, generic[key] ?? '']] : []));
  const mode = generic[MODE_KEY];
  if (mode !== undefined && mode !== 'bridge' && mode !== 'macvlan') {
    throw invalidOption(`option ${MODE_KEY}: "bridge" or "macvlan", not "${mode}"`);
  }
  const [parent, ...moreParents] = given(PARENT_KEYS);
  const [uplink] = given([UPLINK_KEY]);
  if (moreParents.length > 0) throw invalidOption(`give the parent interface once (${PARENT_KEYS.join(' or ')})`);
  if (parent && uplink) {
    throw invalidOption(`${parent[0]} (macvlan) and ${UPLINK_KEY} (bridge) do not go together: choose one mode`);
  }
  if (mode === 'macvlan' && !parent) throw invalidOption(`${MODE_KEY}=macvlan needs -o tether.parent=IFACE`);
  if (mode === 'bridge' && parent) throw invalidOption(`${MODE_KEY}=bridge takes -o ${UPLINK_KEY}=IFACE, not a parent`);
  const chosen = parent ?? uplink;
  if (!chosen) {
    for (const key of [VLAN_KEY, SHIM_KEY]) {
      if (key in generic) throw invalidOption(`option ${key} needs -o tether.parent=IFACE or -o ${UPLINK_KEY}=IFACE`);
    }
    return undefined;
  }
  const [key, value] = chosen as [string, string];
  const vlanText = generic[VLAN_KEY];
  const vlan = Number(vlanText);
  if (vlanText !== undefined && (!/^\d+$/.test(vlanText) || vlan < 1 || vlan > 4094)) {
    throw invalidOption(`option ${VLAN_KEY}: a VLAN ID is a whole number from 1 to 4094, not "${vlanText}"`);
  }
  const shim = generic[SHIM_KEY];
  if (shim !== undefined && shim !== 'true' && shim !== 'false') {
    throw invalidOption(`option ${SHIM_KEY}: expected true or false, not "${shim}"`);
  }
  return {
    kind: parent ? 'macvlan' : 'bridged-uplink',
    name: checkInterfaceName(key, value),
    ...(vlanText === undefined ? {} : { vlan }),
    hostShim: shim === 'true',
  };
}
