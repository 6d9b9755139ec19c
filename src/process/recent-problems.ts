// The last warnings and errors the daemon logged, kept in memory for the
// dashboard: an operator sees what went wrong lately without reading logs.

export interface Problem {
  readonly time: number;
  readonly level: 'warn' | 'error' | 'fatal';
  readonly message: string;
  /** The error's message and the entry's other fields (host=h3, say), when it carries any. */
  readonly detail?: string;
}

/** pino's numeric levels for warn, error and fatal. */
const LEVELS = new Map<number, Problem['level']>([
  [40, 'warn'],
  [50, 'error'],
  [60, 'fatal'],
]);

const KEPT = 20;
/** Fields every entry has, or that the problem shows apart. */
const OWN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'driver', 'msg', 'err']);

/** A pino destination at level warn: each write is one JSON log line. */
export class RecentProblems {
  private readonly entries: Problem[] = [];

  write(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const level = LEVELS.get(Number(entry['level']));
    if (!level) return;
    const fields = Object.entries(entry).flatMap(([key, value]) =>
      OWN_FIELDS.has(key) || (typeof value !== 'string' && typeof value !== 'number') ? [] : [`${key}=${value}`],
    );
    const detail = [errorText(entry['err']), ...fields].filter(Boolean).join('; ');
    this.entries.push({
      time: typeof entry['time'] === 'number' ? entry['time'] : Date.now(),
      level,
      message: String(entry['msg'] ?? ''),
      ...(detail ? { detail } : {}),
    });
    if (this.entries.length > KEPT) this.entries.shift();
  }

  /** Newest first. */
  list(): Problem[] {
    return [...this.entries].reverse();
  }
}

/** tether logs errors as `err`: a message string, or an Error pino serialized. */
function errorText(err: unknown): string | undefined {
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return undefined;
}
