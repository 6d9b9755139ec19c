// Who may see the dashboard when --ui-token-file is given: a client that sends
// the token (Authorization: Bearer, for scripts) or the session cookie a
// browser gets by typing the token into the login page. A session is a random
// ID held in memory, never derived from the token: it ends after SESSION_MS,
// with the daemon, and when the token changes (rotating it ends them all).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'tether_ui';
export const SESSION_MS = 12 * 3600_000;
/** Sessions held at once; a login past it ends the oldest. */
const MAX_SESSIONS = 1_000;

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Equal length first, then a comparison that takes the same time wherever the texts differ. */
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** open: no token is asked; allowed: the right token or a live session; none: neither; wrong: a wrong bearer token. */
export type Verdict = 'open' | 'allowed' | 'none' | 'wrong';

export class Access {
  /** Session ID to the time it ends. */
  private readonly sessions = new Map<string, number>();

  constructor(
    private token: string | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** What a request with these headers may do. */
  check(headers: { authorization?: string | undefined; cookie?: string | undefined }): Verdict {
    if (this.token === undefined) return 'open';
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (bearer !== undefined) return same(bearer, this.token) ? 'allowed' : 'wrong';
    const id = (headers.cookie ?? '')
      .split(/;\s*/)
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.slice(SESSION_COOKIE.length + 1);
    const ends = id === undefined ? undefined : this.sessions.get(id);
    if (ends === undefined || id === undefined) return 'none';
    if (ends > this.now()) return 'allowed';
    this.sessions.delete(id);
    return 'none';
  }

  /** The Set-Cookie value of a new session for the right token (over HTTPS: a Secure one); undefined if wrong. */
  login(typed: string, https: boolean): string | undefined {
    if (this.token === undefined || !same(typed.trim(), this.token)) return undefined;
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString('hex');
    this.sessions.set(id, this.now() + SESSION_MS);
    const maxAge = SESSION_MS / 1000;
    return `${SESSION_COOKIE}=${id}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${https ? '; Secure' : ''}`;
  }

  /** A new token: every session made with the old one ends. */
  rotate(token: string): void {
    if (token === this.token) return;
    this.token = token;
    this.sessions.clear();
  }
}

/** Whether a Host header names a loopback address (any port: `ssh -L` may forward another). */
export function loopbackHostHeader(host: string | undefined): boolean {
  const name = /^(\[[^\]]+\]|[^:]+)(:\d+)?$/.exec(host ?? '')?.[1]?.toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name ?? '');
}
