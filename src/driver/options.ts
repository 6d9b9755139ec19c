// The `-o key=value` options of `docker network create -d tether`. Docker's
// bridge-driver names are accepted so that habits carry over; any other key
// is an error, since an ignored option is a silent surprise.
import { invalidOption } from '../errors.js';
import {
  checkInterfaceName,
  parseUplinkOptions,
  UPLINK_OPTION_KEYS,
  type UplinkOptions,
} from './kinds/uplink/options.js';

export interface NetworkOptions {
  readonly mtu?: number;
  readonly bridge?: string;
  readonly nat?: boolean;
  /** The name of the network across the cluster (-o tether.cluster=NAME). */
  readonly cluster?: string;
  /**
   * Docker 27 and newer leave -o com.docker.network.enable_ipv4/enable_ipv6 (and daemon.json's
   * default-network-opts) in the options after reading them; Docker decides the families from them.
   */
  readonly ipv4?: boolean;
  readonly ipv6?: boolean;
  /** -o tether.policy=deny: nothing reaches an endpoint unless a policy lets it in. */
  readonly policy?: 'deny';
  /** A network on one of the host's interfaces (macvlan, or a bridge with the interface enslaved). */
  readonly uplink?: UplinkOptions;
}

const MTU_KEYS = ['com.docker.network.driver.mtu', 'mtu'];
const BRIDGE_KEYS = ['com.docker.network.bridge.name', 'bridge'];
const NAT_KEYS = ['tether.nat', 'com.docker.network.bridge.enable_ip_masquerade'];
export const CLUSTER_KEY = 'tether.cluster';
export const IPV4_KEY = 'com.docker.network.enable_ipv4';
export const IPV6_KEY = 'com.docker.network.enable_ipv6';
const POLICY_KEY = 'tether.policy';
export const KNOWN_NETWORK_OPTIONS = [
  ...MTU_KEYS,
  ...BRIDGE_KEYS,
  ...NAT_KEYS,
  CLUSTER_KEY,
  IPV4_KEY,
  IPV6_KEY,
  POLICY_KEY,
  ...UPLINK_OPTION_KEYS,
];
/** Cluster network names: what Docker accepts as a network name, kept to a safe alphabet. */
export const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const flag = (key: string, value: string): boolean => {
  if (value !== 'true' && value !== 'false')
    throw invalidOption(`option ${key}: expected true or false, not "${value}"`);
  return value === 'true';
};

export function parseNetworkOptions(generic: Readonly<Record<string, string>>): NetworkOptions {
  const options: { -readonly [K in keyof NetworkOptions]: NetworkOptions[K] } = {};
  for (const [key, value] of Object.entries(generic)) {
    if (MTU_KEYS.includes(key)) {
      const mtu = Number(value);
      if (!/^\d+$/.test(value) || mtu < 1280 || mtu > 65535) {
        throw invalidOption(`option ${key}: MTU must be a whole number from 1280 to 65535, not "${value}"`);
      }
      options.mtu = mtu;
    } else if (BRIDGE_KEYS.includes(key)) options.bridge = checkInterfaceName(key, value);
    else if (NAT_KEYS.includes(key)) options.nat = flag(key, value);
    else if (key === IPV4_KEY) options.ipv4 = flag(key, value);
    else if (key === IPV6_KEY) options.ipv6 = flag(key, value);
    else if (key === POLICY_KEY) {
      if (value !== 'deny') throw invalidOption(`option ${key}: the one policy mode is "deny", not "${value}"`);
      options.policy = value;
    } else if (key === CLUSTER_KEY) {
      if (!CLUSTER_NAME.test(value)) {
        throw invalidOption(
          `option ${key}: "${value}" is not a valid network name (letters, digits, "_.-", at most 64)`,
        );
      }
      options.cluster = value;
    } else if (!UPLINK_OPTION_KEYS.includes(key)) {
      throw invalidOption(`unknown option "${key}" (tether knows ${KNOWN_NETWORK_OPTIONS.join(', ')})`);
    }
  }
  const uplink = parseUplinkOptions(generic);
  if (!uplink) return options;
  // The containers are on the interface's own network: its router is their gateway, nothing is NATed.
  if (options.nat) throw invalidOption('tether.nat does not apply to a network on a host interface: it is never NATed');
  if (options.policy) throw invalidOption('tether.policy=deny is not enforced on a network on a host interface');
  if (options.bridge && uplink.kind === 'macvlan') throw invalidOption('a macvlan network has no bridge to name');
  return { ...options, nat: false, uplink };
}
