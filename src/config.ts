// Daemon configuration, parsed and checked once at start into a frozen value
// that is passed down; no other module reads flags or the environment.
import { basename } from 'node:path';
import { type DefaultPool, parseDefaultPool } from './ipam/auto-pool.js';

export interface Config {
  readonly socket: string;
  /** The driver name Docker knows: the socket's base name. */
  readonly name: string;
  readonly stateDir: string;
  readonly logLevel: string;
  readonly interfacePrefix: string;
  readonly mtu: number;
  /** How long an allocated address may go unused after start-up before it counts as orphaned. */
  readonly orphanGraceMs: number;
  readonly defaultPool: DefaultPool;
  /** Undefined: a random unique local /48, chosen once and kept in the store. */
  readonly defaultPool6?: DefaultPool;
}

export interface RawConfig {
  socket: string;
  stateDir: string;
  logLevel: string;
  interfacePrefix: string;
  mtu: string;
  orphanGrace: string;
  defaultPool: string;
  defaultPool6?: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export function parseConfig(raw: RawConfig): Config {
  const fail = (message: string): never => { throw new Error(message); };
  if (!raw.socket.endsWith('.sock')) fail(`--socket ${raw.socket}: the socket's name must end in .sock`);
  if (!LOG_LEVELS.includes(raw.logLevel)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  // Interface names are at most 15 bytes; the prefix leaves room for at least six hex digits of an ID.
  if (!/^[a-z][a-z0-9]{0,6}$/.test(raw.interfacePrefix)) fail('--interface-prefix must be 1 to 7 lower-case letters or digits, starting with a letter');
  const mtu = Number(raw.mtu);
  if (!/^\d+$/.test(raw.mtu) || mtu < 1280 || mtu > 65535) fail('--mtu must be a whole number from 1280 to 65535');
  if (!/^\d+$/.test(raw.orphanGrace)) fail('--orphan-grace must be a whole number of seconds');
  const defaultPool = parseDefaultPool(raw.defaultPool);
  if (defaultPool?.range.version !== 4) fail(`--default-pool ${raw.defaultPool}: expected an IPv4 range and pool size, such as 10.200.0.0/13:24`);
  const defaultPool6 = raw.defaultPool6 ? parseDefaultPool(raw.defaultPool6) : undefined;
  if (raw.defaultPool6 && defaultPool6?.range.version !== 6) fail(`--default-pool6 ${raw.defaultPool6}: expected an IPv6 range and pool size, such as fd00:1::/48:64`);
  return Object.freeze({
    socket: raw.socket,
    name: basename(raw.socket, '.sock'),
    stateDir: raw.stateDir,
    logLevel: raw.logLevel,
    interfacePrefix: raw.interfacePrefix,
    mtu,
    orphanGraceMs: Number(raw.orphanGrace) * 1000,
    defaultPool: defaultPool as DefaultPool,
    ...(defaultPool6 ? { defaultPool6 } : {}),
  });
}
