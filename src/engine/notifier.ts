/**
 * @module notifier
 * In-process wake-ups. After a transaction commits, the engine says what changed here, so
 * an idle worker claims within the same tick and a subscriber reads the log at once — no
 * polling on the hot path. Writes by other processes sharing the store are noticed by a
 * cheap change counter (SQLite's data_version), polled only while someone listens.
 */
import { EventEmitter } from 'node:events';
import type { NewEvent } from '../store/records.js';
import type { Store, WorkKind } from '../store/store.js';
import type { Effects, Revocation } from './tx-context.js';

export interface NotifierEvents {
  /** New events are in the log: these (in-process commits), or any (another process's). */
  appended: [events?: readonly EventScope[]];
  /** Items may have become claimable: these kinds (in-process commits), or any (another process's). */
  work: [kinds?: WorkKind[]];
  /** These items' holders must stop (cancelled, expired, timed out, over budget). */
  revoked: [revocations: Revocation[]];
}

/** What a subscriber looks at in an appended event: its filter's fields, its type and data. */
export type EventScope = Pick<NewEvent, 'type' | 'itemId' | 'workflowId' | 'tenant' | 'data'>;

export class Notifier extends EventEmitter<NotifierEvents> {
  private watchers = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastCounter: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly pollMs: number,
  ) {
    super();
    this.setMaxListeners(0);
  }

  publish(effects: Effects): void {
    if (effects.revoked.length > 0) this.emit('revoked', effects.revoked);
    // In-process commits say what they queued, so a worker that can take none of it stays
    // asleep; another process's commit (poll) says nothing, and every worker looks.
    if (effects.work) this.emit('work', [...effects.queued.values()]);
    if (effects.appended.length > 0) this.emit('appended', effects.appended);
  }

  /** Starts watching for other processes' commits; returns the matching stop function. */
  watch(): () => void {
    if (this.watchers++ === 0) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
      // Take the baseline now, not one interval later: a commit by another process in
      // between would otherwise become the baseline and never be announced.
      this.lastCounter = undefined;
      void this.poll();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.watchers === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async poll(): Promise<void> {
    let counter: number;
    try {
      counter = await this.store.changeCounter();
    } catch {
      return; // closed or briefly unavailable; the next tick tries again
    }
    // The first reading (lastCounter undefined) also announces: a spurious wake-up is cheap,
    // a missed one leaves work or events waiting for the next change.
    if (counter !== this.lastCounter) {
      this.emit('work');
      this.emit('appended');
    }
    this.lastCounter = counter;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.removeAllListeners();
  }
}
