/**
 * @module tx-context
 * What engine code gets inside one write transaction: the store handle, one "now" for
 * every timestamp it writes, and the effects to announce in-process once it commits.
 */
import type { Clock } from '../core/clock.js';
import type { ItemRecord } from '../store/records.js';
import type { WorkKind, WriteTx } from '../store/store.js';

export interface Effects {
  /** Events were appended (subscribers should read the log). */
  appended: boolean;
  /** Some item became queued (idle workers should try to claim). */
  work: boolean;
  /** What became queued, by type/queue/capabilities: whom to wake in other processes. */
  queued: Map<string, WorkKind>;
  /** Items whose current holder must stop, with why: cancelled, lease expired, timed out, over budget. */
  revoked: Revocation[];
}

export interface Revocation {
  itemId: string;
  /** CANCELLED, LEASE_EXPIRED, TIMEOUT or BUDGET_EXCEEDED: the abort reason the holder sees. */
  code: 'CANCELLED' | 'LEASE_EXPIRED' | 'TIMEOUT' | 'BUDGET_EXCEEDED';
  message: string;
}

export interface EngineSettings {
  clock: Clock;
  leaseMs: number;
  random: () => number;
  defaultTenant: string;
}

export interface TxContext {
  tx: WriteTx;
  now: number;
  effects: Effects;
  settings: EngineSettings;
}

export const newEffects = (): Effects => ({ appended: false, work: false, queued: new Map(), revoked: [] });

/** Notes that `item` became queued in this transaction. */
export function noteQueued(c: TxContext, item: ItemRecord): void {
  c.effects.work = true;
  const key = `${item.type}\u0000${item.queue}\u0000${item.requiredCapabilities.join('\u0000')}`;
  const kind = c.effects.queued.get(key);
  if (kind) kind.count++;
  else
    c.effects.queued.set(key, {
      type: item.type,
      queue: item.queue,
      capabilities: item.requiredCapabilities,
      count: 1,
    });
}
