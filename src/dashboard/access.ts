// Who may see the dashboard when --ui-token-file is given: a client that sends
// the token (Authorization: Bearer, for scripts) or the session cookie a
// browser gets by typing the token into the login page once. The cookie holds
// an HMAC of the token, not the token, and lives as long as the token does.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'tether_ui';

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Equal length first, then a comparison that takes the same time wherever the texts differ. */
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export class Access {
  private readonly session: string | undefined;

  constructor(private readonly token: string | undefined) {
    this.session = token && createHmac('sha256', token).update('tether dashboard session').digest('hex');
  }

  /** Whether a request with these headers may read the dashboard. */
  allows(headers: { authorization?: string | undefined; cookie?: string | undefined }): boolean {
    if (this.token === undefined || this.session === undefined) return true;
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (bearer !== undefined && same(bearer, this.token)) return true;
    const cookie = (headers.cookie ?? '')
      .split(/;\s*/)
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.slice(SESSION_COOKIE.length + 1);
    return cookie !== undefined && same(cookie, this.session);
  }

  /** The Set-Cookie value for a browser that typed the right token (over HTTPS: a Secure one); undefined if wrong. */
  login(typed: string, https: boolean): string | undefined {
    if (this.token === undefined || this.session === undefined || !same(typed.trim(), this.token)) return undefined;
    return `${SESSION_COOKIE}=${this.session}; Path=/; HttpOnly; SameSite=Strict${https ? '; Secure' : ''}`;
  }
}
