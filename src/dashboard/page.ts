// The dashboard's files, read once at start: the page from the package's ui/
// folder, and preact and htm from its node_modules (the page's import map
// names them). The Content-Security-Policy allows scripts of this origin only,
// and the one inline script, the import map, by its hash.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  readonly path: string;
  readonly type: string;
  readonly body: string;
}

const UI_DIR = new URL('../../ui/', import.meta.url);

const PAGE: readonly [path: string, file: string, type: string][] = [
  ['/', 'index.html', 'text/html'],
  ['/app.js', 'app.js', 'text/javascript'],
  ['/tables.js', 'tables.js', 'text/javascript'],
  ['/topology.js', 'topology.js', 'text/javascript'],
  ['/style.css', 'style.css', 'text/css'],
];
const LIBRARIES: readonly [path: string, specifier: string][] = [
  ['/vendor/preact.mjs', 'preact'],
  ['/vendor/hooks.mjs', 'preact/hooks'],
  ['/vendor/htm.mjs', 'htm'],
];

export function staticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const [path, file, type] of PAGE)
    files.set(path, { path, type, body: readFileSync(new URL(file, UI_DIR), 'utf8') });
  for (const [path, specifier] of LIBRARIES)
    files.set(path, {
      path,
      type: 'text/javascript',
      body: readFileSync(fileURLToPath(import.meta.resolve(specifier)), 'utf8'),
    });
  return files;
}

const LOGIN = readFileSync(new URL('login.html', UI_DIR), 'utf8');

/** The login page, with a message when there is one (fixed text, never the request's). */
export function loginPage(message?: string): StaticFile {
  const body = LOGIN.replace('<!--message-->', message ? `<p class="refused">${message}</p>` : '');
  return { path: '/login', type: 'text/html', body };
}

function policyFor(file: StaticFile): string {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(file.body)?.[1];
  const hash = importMap && `'sha256-${createHash('sha256').update(importMap).digest('base64')}'`;
  return [
    "default-src 'self'",
    `script-src 'self'${hash ? ` ${hash}` : ''}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

export function pageHeaders(file: StaticFile): Record<string, string> {
  return {
    'content-type': `${file.type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...(file.type === 'text/html' ? { 'content-security-policy': policyFor(file) } : {}),
  };
}
