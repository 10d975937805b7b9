/**
 * @module tx-context
 * What engine code gets inside one write transaction: the store handle, one "now" for
 * every timestamp it writes, the effects to announce in-process once it commits, and the
 * workflow layer's hooks into it.
 */
import type { Clock } from '../core/clock.js';
import type { ItemError } from '../core/errors.js';
import type { Receipt } from '../core/types.js';
import type { ItemPatch, ItemRecord, NewEvent } from '../store/records.js';
import type { WorkKind, WriteTx } from '../store/store.js';

export interface Effects {
  /** Events appended (subscribers whose filter one of them matches read the log). */
  appended: NewEvent[];
  /** Some item became queued (idle workers should try to claim). */
  work: boolean;
  /** What became queued and still is, by type/queue/capabilities: whom to wake. */
  queued: Map<string, WorkKind>;
  /** The items behind `queued`, by id (so one claimed in the same transaction leaves it). */
  queuedIds: Set<string>;
  /** Items whose current holder must stop, with why: cancelled, lease expired, timed out, over budget. */
  revoked: Revocation[];
}

export interface Revocation {
  itemId: string;
  /** CANCELLED, LEASE_EXPIRED, TIMEOUT or BUDGET_EXCEEDED: the abort reason the holder sees. */
  code: 'CANCELLED' | 'LEASE_EXPIRED' | 'TIMEOUT' | 'BUDGET_EXCEEDED';
  message: string;
}

export interface TransitionResult {
  item: ItemRecord;
  receipt: Receipt;
}

/**
 * How the workflow layer takes part in the engine's transactions without the engine
 * knowing about workflows (dependencies point one way: engine ← workflow). The engine
 * calls these for items that belong to a workflow, inside the same transaction, so a step
 * and everything it sets off commit together or not at all.
 */
export interface StepHooks {
  /**
   * A workflow step's dependencies all completed: what its `queued` transition should also
   * set (its input with templates resolved). An error fails the step instead.
   */
  ready(c: TxContext, item: ItemRecord): Promise<{ patch: ItemPatch } | { error: ItemError }>;
  /**
   * Steps that became queued or reached a final state in this transaction, called before
   * it commits (and again if that settled more steps) for the workflow's own bookkeeping:
   * counters, map children, waits, the failure policy, the workflow's end.
   */
  settle(c: TxContext, changes: StepChanges): Promise<void>;
  /**
   * A step (running, or assigned when its lease expired) is about to fail for good: when it
   * has a fallback it carries on as that instead, back in the queue under `receipt`, and
   * the hook returns that transition; otherwise null.
   */
  fallback(
    c: TxContext,
    item: ItemRecord,
    error: ItemError,
    receipt: 'retried' | 'lease_expired',
  ): Promise<TransitionResult | null>;
}

/** A task or workflow with a webhook URL reached a final state in this transaction. */
export interface WebhookNotice {
  kind: 'task' | 'workflow';
  id: string;
  tenant: string;
  url: string;
  status: string;
}

/**
 * Schedules the deliveries of webhooks inside the transaction that finished their subject,
 * so a crash can never commit the final state without its delivery (see service/webhooks).
 */
export type WebhookSink = (c: TxContext, notices: WebhookNotice[]) => Promise<void>;

export interface StepChanges {
  queued: ItemRecord[];
  finished: ItemRecord[];
}

export interface EngineSettings {
  clock: Clock;
  leaseMs: number;
  random: () => number;
  defaultTenant: string;
}

export interface TxContext {
  tx: WriteTx;
  /** The transaction's time; a claim moves it on to when it claims (see `claim`). */
  now: number;
  /** The store's clock read again: later than `now` when the transaction waited for a lock. */
  clockNow: () => number;
  effects: Effects;
  settings: EngineSettings;
  /** The workflow layer's part in this transaction, when one is attached. */
  hooks: StepHooks | undefined;
  /** Workflow steps this transaction queued or finished, for `hooks.settle` before commit. */
  steps: StepChanges;
  /** Finished tasks and workflows whose webhooks the sink schedules before commit. */
  webhooks: WebhookNotice[];
  /**
   * Pending items some of whose dependencies completed in this transaction, with how many:
   * counted down together before commit (see `before-commit.ts`), not one row update per
   * completed parent.
   */
  countdowns: Map<string, number>;
}

export const newEffects = (): Effects => ({
  appended: [],
  work: false,
  queued: new Map(),
  queuedIds: new Set(),
  revoked: [],
});

export const newStepChanges = (): StepChanges => ({ queued: [], finished: [] });

const kindKey = (item: ItemRecord): string =>
  `${item.type}\u0000${item.queue}\u0000${item.requiredCapabilities.join('\u0000')}`;

/** Notes that `item` became queued in this transaction. */
export function noteQueued(c: TxContext, item: ItemRecord): void {
  c.effects.work = true;
  c.effects.queuedIds.add(item.id);
  const key = kindKey(item);
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

/**
 * Notes that `item` left the queue (claimed, cancelled, rescheduled as another state). One
 * queued earlier in this same transaction is no news to anyone: a settle batch that queues
 * the next step of a chain and claims it itself wakes no worker to look for it again.
 */
export function noteDequeued(c: TxContext, item: ItemRecord): void {
  if (!c.effects.queuedIds.delete(item.id)) return;
  const key = kindKey(item);
  const kind = c.effects.queued.get(key);
  if (kind && --kind.count === 0) c.effects.queued.delete(key);
  if (c.effects.queued.size === 0) c.effects.work = false;
}

/** Appends `event` to the log in this transaction, and notes it for in-process subscribers. */
export async function appendEvent(c: TxContext, event: NewEvent): Promise<void> {
  await c.tx.appendEvent(event);
  c.effects.appended.push(event);
}
