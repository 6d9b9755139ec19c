// Label selectors, in the syntax Kubernetes users know: requirements joined by
// commas, each `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (the label
// exists) or `!k` (it does not). The empty selector selects every endpoint.
// Parsed once, at the operator API; matched against an endpoint's labels.
import { invalidOption } from '../errors.js';

export type Requirement =
  | { readonly key: string; readonly op: 'eq' | 'ne'; readonly value: string }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'absent' };

export type Selector = readonly Requirement[];

/** Label keys as endpoint options accept them; values without the selector's own punctuation. */
const KEY = '[A-Za-z0-9][A-Za-z0-9._/-]{0,127}';
const VALUE = '[A-Za-z0-9._/:@-]{0,1024}';
const FORMS: readonly [RegExp, (m: RegExpExecArray) => Requirement][] = [
  [new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`), (m) => eqOrNe(m)],
  [
    new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`),
    (m) => ({ key: at(m, 1), op: at(m, 2) === 'in' ? 'in' : 'notin', values: valuesOf(at(m, 3)) }),
  ],
  [new RegExp(`^(${KEY})$`), (m) => ({ key: at(m, 1), op: 'exists' })],
  [new RegExp(`^!\\s*(${KEY})$`), (m) => ({ key: at(m, 1), op: 'absent' })],
];

const at = (m: RegExpExecArray, i: number) => m[i] ?? '';

function eqOrNe(m: RegExpExecArray): Requirement {
  return { key: at(m, 1), op: at(m, 2) === '!=' ? 'ne' : 'eq', value: at(m, 3) };
}

function valuesOf(list: string): string[] {
  const values = list.split(',').map((v) => v.trim());
  const bad = values.find((v) => !new RegExp(`^${VALUE}$`).test(v) || v === '');
  if (bad !== undefined) throw invalidOption(`selector: "${bad}" is not a label value`);
  return [...new Set(values)].sort();
}

/** Splits on the commas outside parentheses. */
function requirementsOf(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw invalidOption(`selector "${text}": unbalanced parentheses`);
  }
  if (depth !== 0) throw invalidOption(`selector "${text}": unbalanced parentheses`);
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

export function parseSelector(text: string): Selector {
  if (text.trim() === '') return [];
  return requirementsOf(text).map((part) => {
    for (const [form, build] of FORMS) {
      const match = form.exec(part);
      if (match) return build(match);
    }
    throw invalidOption(`selector: "${part}" is not a requirement (k=v, k!=v, k in (a,b), k notin (a,b), k, !k)`);
  });
}

/** The canonical text: one spelling per meaning, so equal selectors share a kernel set. */
export function formatSelector(selector: Selector): string {
  return selector.map(formatRequirement).sort().join(',');
}

function formatRequirement(r: Requirement): string {
  switch (r.op) {
    case 'eq':
      return `${r.key}=${r.value}`;
    case 'ne':
      return `${r.key}!=${r.value}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${r.values.join(',')})`;
    case 'exists':
      return r.key;
    case 'absent':
      return `!${r.key}`;
  }
}

export function matches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.every((r) => holds(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined));
}

function holds(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case 'eq':
      return value === r.value;
    case 'ne':
      return value !== r.value;
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'absent':
      return value === undefined;
  }
}
