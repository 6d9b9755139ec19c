// Ends the process when its event loop stalls: the main thread writes a
// heartbeat into shared memory every second; a worker thread, which keeps
// running while the main thread is stuck, kills the process once the heartbeat
// is older than the limit, so that systemd or dockerd start a fresh one.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { workerData } = require('node:worker_threads');
const { beat, limitMs } = workerData;
setInterval(() => {
  const late = Date.now() - Number(Atomics.load(beat, 0));
  if (late > limitMs) {
    const why = 'tether: the event loop has not run for ' + late + ' ms; exiting so that it is restarted\\n';
    require('node:fs').writeSync(2, why);
    process.kill(process.pid, 'SIGKILL');
  }
}, 1000);
`;

/** Starts the watch; returns a stop. */
export function watchLoopStalls(limitMs: number): () => Promise<void> {
  const beat = new BigInt64Array(new SharedArrayBuffer(8));
  const touch = () => Atomics.store(beat, 0, BigInt(Date.now()));
  touch();
  const timer = setInterval(touch, 1000);
  timer.unref();
  // No execArgv: the worker is plain CommonJS whatever loader the main thread runs under.
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { beat, limitMs } });
  worker.unref();
  return async () => {
    clearInterval(timer);
    await worker.terminate();
  };
}
