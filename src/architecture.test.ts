// The shape of the code, checked like behaviour: no import circles between the
// files of src/, no line over 120 characters, no file of src/ or of the
// tests' support over 250 lines (a sign that it holds more than one
// responsibility), and nothing of the tests' compiled into dist/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINE = 120;
const MAX_FILE_LINES = 250;
/** What tsconfig.json leaves out of dist/: tests, contract suites, the tests' shared settings. */
const TEST_ONLY = /(\.test|-contract)\.ts$|\/testing\.ts$/;

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });

/** The files a source file imports statically (type-only imports included: they tie the files together too). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/gms)].map((m) => m[1] ?? '');
  return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s.replace(/\.js$/, '.ts'))));
}

/** Every import circle, each as the files around it. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test('the circle finder finds a circle and passes a tree', () => {
  const circle = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(findCycles(circle), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('no import circle in src/', () => {
  const files = sources('src').filter((f) => !f.endsWith('.test.ts'));
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  assert.deepEqual(
    findCycles(graph).map((cycle) => cycle.join(' -> ')),
    [],
  );
});

/** A file's module: its folder under src/ (driver, ipam, ...), or the file itself at the top of src/. */
const moduleOf = (file: string) => {
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}/` : file;
};

test('no import circle between the folders of src/', () => {
  const files = sources('src').filter((f) => !f.endsWith('.test.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const from = moduleOf(file);
    const to = importsOf(file)
      .map(moduleOf)
      .filter((m) => m !== from);
    graph.set(from, [...new Set([...(graph.get(from) ?? []), ...to])]);
  }
  assert.deepEqual(
    findCycles(graph).map((cycle) => cycle.join(' -> ')),
    [],
  );
});

test(`no line over ${MAX_LINE} characters`, () => {
  const long = ['src', 'test', 'bench', 'bin'].flatMap(sources).flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > MAX_LINE ? [`${file}:${i + 1} (${line.length})`] : [])),
  );
  assert.deepEqual(long, []);
});

test(`no file in src/ or the tests' support over ${MAX_FILE_LINES} lines`, () => {
  const support = sources('test').filter((file) => !file.endsWith('.test.ts'));
  const big = [...sources('src'), ...support].flatMap((file) => {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n').length - 1;
    return lines > MAX_FILE_LINES ? [`${file} (${lines})`] : [];
  });
  assert.deepEqual(big, []);
});

test('no file compiled into dist/ imports a test module', () => {
  const built = sources('src').filter((file) => !TEST_ONLY.test(file));
  const testing = built.filter((file) =>
    /from '(node:test|node:assert[^']*)'/.test(readFileSync(join(ROOT, file), 'utf8')),
  );
  assert.deepEqual(testing, []);
});
