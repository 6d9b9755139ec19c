// Summaries of repeated measurements, and the report a person reads.
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? at(0.5) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
  return { n: sorted.length, median, p10: at(0.1), p90: at(0.9) };
}

export interface Comparison {
  readonly name: string;
  readonly unit: string;
  readonly tether: Summary;
  readonly baseline: Summary;
  readonly baselineName: string;
  /** tether / baseline, on the medians. */
  readonly ratio: number;
  readonly goal: string;
  readonly met: boolean;
}

export interface Figure {
  readonly name: string;
  readonly value: string;
  readonly goal: string;
  readonly met: boolean;
}

export function compare(
  name: string,
  unit: string,
  tether: readonly number[],
  baseline: readonly number[],
  options: { baselineName: string; goal: string; pass: (ratio: number) => boolean },
): Comparison {
  const t = summarize(tether);
  const b = summarize(baseline);
  const ratio = t.median / b.median;
  return {
    name,
    unit,
    tether: t,
    baseline: b,
    baselineName: options.baselineName,
    ratio,
    goal: options.goal,
    met: options.pass(ratio),
  };
}

const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3));

export function markdown(comparisons: readonly Comparison[], figures: readonly Figure[], when: string): string {
  const lines = [
    `# tether benchmarks`,
    '',
    `Run ${when} on this machine (2 cores). Medians, with p10-p90 in brackets.`,
    '',
    '| measurement | tether | baseline | ratio (tether/baseline) | goal | met |',
    '|---|---|---|---|---|---|',
    ...comparisons.map(
      (c) =>
        `| ${c.name} (${c.unit}) | ${fmt(c.tether.median)} [${fmt(c.tether.p10)}-${fmt(c.tether.p90)}] ` +
        `n=${c.tether.n} | ${c.baselineName}: ${fmt(c.baseline.median)} ` +
        `[${fmt(c.baseline.p10)}-${fmt(c.baseline.p90)}] n=${c.baseline.n} | ` +
        `${c.ratio.toFixed(3)} | ${c.goal} | ${c.met ? 'yes' : 'no'} |`,
    ),
    '',
    '| figure | value | goal | met |',
    '|---|---|---|---|',
    ...figures.map((f) => `| ${f.name} | ${f.value} | ${f.goal} | ${f.met ? 'yes' : 'no'} |`),
    '',
  ];
  return lines.join('\n');
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar per comparison: the ratio, with the goal marked at 1.0 (or the goal's own line). */
export function svgChart(comparisons: readonly Comparison[]): string {
  const width = 760;
  const rowHeight = 34;
  const left = 330;
  const scale = (width - left - 40) / 2; // ratios from 0 to 2
  const rows = comparisons.map((c, i) => {
    const y = 40 + i * rowHeight;
    const barWidth = Math.min(2, c.ratio) * scale;
    const reported = c.goal.startsWith('(');
    const colour = reported ? '#78909c' : c.met ? '#2e7d32' : '#c62828';
    const goal = reported ? 'no goal' : c.goal;
    return (
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end" font-size="13">${xml(c.name)}</text>` +
      `<rect x="${left}" y="${y + 4}" width="${barWidth.toFixed(1)}" height="18" fill="${colour}"/>` +
      `<text x="${left + barWidth + 6}" y="${y + 18}" font-size="12">${c.ratio.toFixed(2)} (${xml(goal)})</text>`
    );
  });
  const height = 60 + comparisons.length * rowHeight;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">tether / baseline (green: goal met, red: not ` +
      `met, grey: no goal)</text>`,
    ...rows,
    `<line x1="${left + scale}" y1="32" x2="${left + scale}" y2="${height - 10}" stroke="#555" ` +
      `stroke-dasharray="4 3"/>`,
    `<text x="${left + scale + 4}" y="${height - 12}" font-size="11">1.0</text>`,
    '</svg>',
    '',
  ].join('\n');
}
