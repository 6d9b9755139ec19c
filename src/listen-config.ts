// Where tether's servers listen and how they are protected: HOST:PORT, the TLS
// files, and the dashboard's rules, those of --tcp (plain HTTP, with a token or
// without, only on a loopback address; elsewhere client certificates, and a
// token besides if wanted).

export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface UiConfig {
  readonly host: string;
  readonly port: number;
  /** A file holding the token a browser logs in with (--ui-token-file). */
  readonly tokenFile?: string;
  /** Serve HTTPS and ask for a client certificate signed by the CA. */
  readonly tls?: TlsFiles;
}

export const isLoopbackHost = (host: string) => /^(127\.|::1$|localhost$)/.test(host);

export function parseUiConfig(
  listen: { host: string; port: number } | undefined,
  tokenFile: string | undefined,
  tls: TlsFiles | undefined,
  fail: (message: string) => never,
): UiConfig | undefined {
  if (!listen) {
    if (tokenFile) fail('--ui-token-file needs --ui-addr');
    return undefined;
  }
  // Off loopback a token alone would cross the network in clear text, and so would every page.
  if (!tls && !isLoopbackHost(listen.host))
    fail(
      `--ui-addr ${listen.host}: off a loopback address the dashboard needs TLS with client certificates ` +
        '(--tls-cert, --tls-key and --tls-ca), and --ui-token-file besides if you like',
    );
  return { ...listen, ...(tokenFile ? { tokenFile } : {}), ...(tls ? { tls } : {}) };
}

/** "HOST:PORT" or "[V6]:PORT". */
export function parseHostPort(
  flag: string,
  text: string,
  fail: (message: string) => never,
): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) fail(`${flag} ${text}: expected HOST:PORT`);
  return { host: match?.[1] ?? match?.[2] ?? '', port };
}
