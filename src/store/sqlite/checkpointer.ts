/**
 * @module checkpointer
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever
 * COMMIT crosses the threshold: it copies pages back into the database file and fsyncs,
 * stalling every worker in the process for milliseconds (it cost ~30% of drain throughput).
 * The write connection turns it off, and this worker thread, with a connection of its own,
 * runs a PASSIVE checkpoint (never blocks writers) every `intervalMs`; when the WAL has grown
 * past `truncateFrames` it runs TRUNCATE, which waits for a quiet moment and resets the file.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  filename: string;
  /** How often to checkpoint. Default 250 ms. */
  intervalMs?: number;
  /** WAL size (frames of one page) above which the WAL file is truncated. Default 16384 (~64 MiB). */
  truncateFrames?: number;
  busyTimeoutMs: number;
}

// CommonJS because an eval'd worker has `require`; the driver path comes from the parent so
// the thread loads the very same better-sqlite3 the store uses.
const THREAD_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const tick = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.log > workerData.truncateFrames) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'close') { clearInterval(timer); tick(); db.close(); parentPort.postMessage('closed'); }
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private closed: Promise<void> | undefined;

  constructor(options: CheckpointerOptions, onError: (message: string) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        driver,
        filename: options.filename,
        intervalMs: options.intervalMs ?? 250,
        truncateFrames: options.truncateFrames ?? 16_384,
        busyTimeoutMs: options.busyTimeoutMs,
      },
    });
    // The store's owner decides the process lifetime, not this helper thread.
    this.worker.unref();
    this.worker.on('message', (m: unknown) => {
      if (m && typeof m === 'object' && 'error' in m) onError(String(m.error));
    });
    this.worker.on('error', (e) => onError(`checkpointer thread failed: ${e.message}`));
  }

  /** Runs a last checkpoint and stops the thread. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        void this.worker.terminate().finally(resolve);
      };
      const timer = setTimeout(done, 2000);
      this.worker.once('message', (m) => m === 'closed' && done());
      this.worker.once('exit', done);
      this.worker.postMessage('close');
    });
    return this.closed;
  }
}
