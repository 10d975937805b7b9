/**
 * @module tx-lock
 * One better-sqlite3 connection can hold one transaction. Engine code between BEGIN and
 * COMMIT is async (so the same code runs on PostgreSQL), so without this lock a second
 * caller could issue statements inside the first caller's open transaction.
 */
export class TxLock {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** True while a transaction holds the connection or waits for it. */
  get busy(): boolean {
    return this.pending > 0;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.pending++;
    try {
      await previous;
      return await fn();
    } finally {
      this.pending--;
      release();
    }
  }
}
