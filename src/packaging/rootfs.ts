// Assembles a root file system that runs tether with nothing from a registry:
// this host's Node and the libraries it links, the built app with its
// production dependencies, and the tools tether runs (ip, bridge, iptables-nft, nft).
// The managed plugin and the container image are both made from it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Where the app lives inside the rootfs. */
export const APP_DIR = '/opt/tether';
/** Where Node lives inside the rootfs: the Node running this build (the system's, or tether's own runtime). */
const NODE = '/usr/bin/node';
const TOOLS = ['/usr/sbin/ip', '/usr/sbin/bridge', '/usr/sbin/xtables-nft-multi', '/usr/sbin/nft'];
const XTABLES_LINKS = [
  'iptables',
  'iptables-restore',
  'iptables-save',
  'ip6tables',
  'ip6tables-restore',
  'ip6tables-save',
];
const XTABLES_MODULES = '/usr/lib/x86_64-linux-gnu/xtables';

/** The shared libraries a binary loads, as ldd lists them. */
function librariesOf(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1] ?? '').filter(Boolean);
}

/** Copies a host file to the same path inside the rootfs, following symlinks. */
function copyHostFile(root: string, path: string): void {
  mkdirSync(join(root, dirname(path)), { recursive: true });
  cpSync(path, join(root, path), { dereference: true });
}

/** The project's production dependencies, as npm resolves them. */
function productionPackages(project: string): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: project, encoding: 'utf8' });
  return out.split('\n').filter((line) => line.startsWith(join(project, 'node_modules')));
}

export function buildRootfs(checkout: string, root: string): { bytes: number } {
  const project = resolve(checkout);
  const binaries = [process.execPath, ...TOOLS];
  const libraries = new Set(binaries.flatMap(librariesOf));
  for (const module of readdirSync(XTABLES_MODULES)) {
    for (const library of librariesOf(join(XTABLES_MODULES, module))) libraries.add(library);
  }
  for (const file of [...TOOLS, ...libraries]) copyHostFile(root, file);
  mkdirSync(join(root, dirname(NODE)), { recursive: true });
  cpSync(process.execPath, join(root, NODE), { dereference: true });
  cpSync(XTABLES_MODULES, join(root, XTABLES_MODULES), { recursive: true, dereference: true });
  for (const name of XTABLES_LINKS) symlinkSync('xtables-nft-multi', join(root, '/usr/sbin', name));

  const app = join(root, APP_DIR);
  for (const part of ['bin', 'dist', 'ui', 'package.json'])
    cpSync(join(project, part), join(app, part), { recursive: true });
  for (const pkg of productionPackages(project)) {
    cpSync(pkg, join(app, relative(project, pkg)), { recursive: true, dereference: true });
  }
  for (const dir of ['run/docker/plugins', 'var/lib/tether', 'tmp', 'etc', 'proc', 'sys', 'dev'])
    mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/:/usr/sbin/nologin\n');
  // iptables names protocols by number without this file, and iproute2 looks for its tables.
  copyHostFile(root, '/etc/protocols');
  return { bytes: sizeOf(root) };
}

function sizeOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}
