// One daemon per state: a lock held for the daemon's life on its state
// directory, as an abstract UNIX socket named after the directory's device and
// inode. The kernel frees it when the process ends, kill -9 included, so it is
// never stale; and the same directory seen through another path (a bind mount,
// a managed plugin's view) is the same lock. Abstract sockets belong to a
// network namespace: daemons in different namespaces do not see each other's.
import { stat } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';

export interface Holder {
  readonly pid: number;
  readonly socket: string;
}

export class StateLockedError extends Error {}

const lockName = async (stateDir: string) => {
  const { dev, ino } = await stat(stateDir);
  return `\0tether-state-${dev}-${ino}`;
};

/** Holds the state directory's lock until release; throws, naming the holder, if another daemon has it. */
export async function lockStateDir(stateDir: string, self: Holder): Promise<{ release: () => Promise<void> }> {
  const name = await lockName(stateDir);
  const server = createServer((connection) => connection.end(JSON.stringify(self)));
  const held = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(false) : reject(error),
    );
    server.listen(name, () => resolve(true));
  });
  if (!held) {
    const holder = await whoHolds(name);
    const who = holder ? `pid ${holder.pid}, socket ${holder.socket}` : 'which did not say who it is';
    throw new StateLockedError(
      `state directory ${stateDir} is in use by another tether (${who}); ` +
        'stop it first, or give this one --state-dir and --socket of its own',
    );
  }
  server.unref();
  return { release: () => close(server) };
}

function whoHolds(name: string): Promise<Holder | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(name);
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()) as Holder);
      } catch {
        resolve(undefined);
      }
    });
    socket.on('error', () => undefined);
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** Whether something answers on the UNIX socket at this path (a live daemon, not a file a crash left). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}
