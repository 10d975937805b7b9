/**
 * @module engine
 * The rules of Conveyor over any Store: every public operation validates its input,
 * runs in one write transaction, and announces its effects in-process after commit.
 * The facade (`client/conveyor.ts`) and the worker runtime both talk to this class.
 */
import { ClosedError, ConveyorError, LeaseLostError, NotFoundError } from '../core/errors.js';
import { verifyReceiptChain } from '../core/receipts.js';
import type { JsonValue, Receipt, ReceiptVerification } from '../core/types.js';
import type { ExecutorRecord, ItemRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { enqueuePlanned, planItem } from './enqueue.js';
import { getHeldItem } from './holder.js';
import * as exec from './execution.js';
import { settleBeforeCommit } from './before-commit.js';
import { claim, heartbeat, reap, release, type ClaimRequest, type HeldLease } from './leases.js';
import { Notifier } from './notifier.js';
import { completeItem, failItem } from './settle.js';
import {
  newEffects,
  newStepChanges,
  type EngineSettings,
  type StepHooks,
  type WebhookSink,
  type TxContext,
} from './tx-context.js';
import { enqueueSchema, parseInput, type ParsedEnqueue } from './validation.js';

export interface EngineOptions extends EngineSettings {
  /** How often to look for other processes' commits while someone waits for work/events. */
  changePollMs: number;
}

/** One outcome for the worker's batched settle. */
export type Settlement = (
  | { kind: 'complete'; itemId: string; token: number; output: JsonValue; usage?: Record<string, number> }
  | {
      kind: 'fail';
      itemId: string;
      token: number;
      error: ConveyorError | { code: string; message: string };
      retryable: boolean;
      retryAfterMs?: number;
    }
) & {
  /** The item's workflow, if it is a step: its row is locked first (see `lockWorkflows`). */
  workflowId?: string | null;
  /**
   * For a completion, the record the worker claimed, when its handler changed nothing on the
   * item since (no budget use): settled from as it is once `itemFence` shows it is still the
   * stored row, instead of reading the whole row again. Any other change fails the fence,
   * and the row is read and checked as without it.
   */
  held?: ItemRecord | undefined;
};

export type SettleResult = { ok: true } | { ok: false; error: unknown };

export class Engine {
  readonly notifier: Notifier;
  private closed = false;
  /** Claim queries this process made and items they returned (for metrics and tests). */
  readonly stats = { claims: 0, claimed: 0 };
  /** The workflow layer, once attached (see `hooks.ts`). */
  hooks: StepHooks | undefined;
  /** Schedules webhook deliveries, once the service (or `deliverWebhooks`) attached one. */
  webhookSink: WebhookSink | undefined;
  /** Store clock minus process clock, as last seen: 0 unless the database keeps time. */
  private clockOffsetMs = 0;

  constructor(
    readonly store: Store,
    readonly settings: EngineOptions,
  ) {
    this.notifier = new Notifier(store, settings.changePollMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The store's time, estimated from the process clock (for timers; transactions use the store's own). */
  now(): number {
    return this.settings.clock.now() + this.clockOffsetMs;
  }

  /** Runs `fn` in one transaction, then tells in-process listeners what it changed. */
  async write<T>(fn: (c: TxContext) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClosedError();
    let effects = newEffects();
    let result: T;
    try {
      result = await this.store.write(async (tx, now) => {
        // The store may run this again (PostgreSQL after a deadlock): start clean each time.
        effects = newEffects();
        this.clockOffsetMs = now - this.settings.clock.now();
        const c: TxContext = {
          tx,
          now,
          clockNow: () => Math.max(now, this.now()),
          effects,
          settings: this.settings,
          hooks: this.hooks,
          steps: newStepChanges(),
          webhooks: [],
          countdowns: new Map(),
        };
        const value = await fn(c);
        await settleBeforeCommit(c);
        if (c.webhooks.length > 0 && this.webhookSink) await this.webhookSink(c, c.webhooks.splice(0));
        if (effects.queued.size > 0) await tx.announceWork([...effects.queued.values()]);
        return value;
      });
    } catch (e) {
      // Our typed errors pass through; anything else came from the database (busy, disk
      // full, constraint) and is wrapped so callers can tell "your input" from "our store".
      if (e instanceof ConveyorError) throw e;
      throw new ConveyorError('STORE', `store error: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    this.notifier.publish(effects);
    return result;
  }

  parseEnqueue(input: unknown, prefix = ''): ParsedEnqueue {
    return parseInput(enqueueSchema, input, prefix);
  }

  enqueue(inputs: ParsedEnqueue[]): Promise<ItemRecord[]> {
    const planned = inputs.map((input, i) => planItem(input, i, this.settings.defaultTenant));
    return this.write((c) => enqueuePlanned(c, planned));
  }

  registerExecutor(e: Omit<ExecutorRecord, 'registeredAt' | 'lastSeenAt'>): Promise<ExecutorRecord> {
    return this.write(async (c) => {
      const existing = await c.tx.getExecutor(e.id);
      const record: ExecutorRecord = {
        ...e,
        registeredAt: existing?.registeredAt ?? c.now,
        lastSeenAt: c.now,
      };
      await c.tx.upsertExecutor(record);
      return record;
    });
  }

  assign(itemId: string, executorId: string): Promise<Receipt> {
    return this.write(async (c) => (await exec.assign(c, itemId, executorId)).receipt);
  }

  start(itemId: string, executorId: string): Promise<Receipt> {
    return this.write(async (c) => (await exec.start(c, itemId, executorId)).receipt);
  }

  progress(
    itemId: string,
    executorId: string,
    percent: number,
    message?: string,
    leaseToken?: number,
  ): Promise<Receipt> {
    return this.write(
      async (c) => (await exec.progress(c, itemId, executorId, percent, message, leaseToken)).receipt,
    );
  }

  complete(itemId: string, executorId: string, args: exec.CompleteArgs): Promise<Receipt> {
    return this.write(async (c) => (await exec.complete(c, itemId, executorId, args)).receipt);
  }

  fail(itemId: string, executorId: string, args: exec.FailArgs): Promise<Receipt> {
    return this.write(async (c) => (await exec.fail(c, itemId, executorId, args)).receipt);
  }

  cancel(itemId: string, actor: string | null, reason: string): Promise<Receipt> {
    return this.write(async (c) => (await exec.cancel(c, itemId, actor, reason)).receipt);
  }

  /** Records budget use; throws BUDGET_EXCEEDED (after failing the item) when over. */
  async consume(
    itemId: string,
    executorId: string,
    key: string,
    n: number,
    leaseToken?: number,
  ): Promise<Record<string, number>> {
    const result = await this.write((c) => exec.consume(c, itemId, executorId, key, n, leaseToken));
    if (result.failed) throw result.failed;
    return result.usage;
  }

  log(itemId: string, message: string): Promise<void> {
    return this.write((c) => exec.appendLog(c, itemId, message));
  }

  async claim(req: ClaimRequest): Promise<ItemRecord[]> {
    const items = await this.write((c) => claim(c, req));
    this.countClaim(items.length);
    return items;
  }

  private countClaim(n: number): void {
    this.stats.claims++;
    this.stats.claimed += n;
  }

  heartbeat(executorId: string, leases: HeldLease[], leaseMs: number): Promise<string[]> {
    return this.write((c) => heartbeat(c, executorId, leases, leaseMs));
  }

  release(executorId: string, leases: HeldLease[]): Promise<number> {
    return this.write((c) => release(c, executorId, leases));
  }

  /** Returns expired leases and past-deadline items; returns how many it handled. */
  reapExpired(limit = 500): Promise<number> {
    return this.write((c) => reap(c, limit));
  }

  /**
   * Settles many executions in one transaction (the worker's completions) and, when asked,
   * claims new items in the same transaction — one commit per batch instead of two. An
   * entry whose lease is gone is skipped without touching the item; `results` says which.
   */
  settleMany(
    entries: Settlement[],
    executorId: string,
    claimRequest: ClaimRequest | null = null,
  ): Promise<{ results: SettleResult[]; claimed: ItemRecord[] }> {
    const done = this.write(async (c) => {
      const results: SettleResult[] = [];
      const known = new Map<string, ItemRecord>();
      for (const s of entries) {
        const held = heldBy(s, executorId);
        if (held) known.set(s.itemId, held);
      }
      const workflows = [...new Set(entries.flatMap((s) => (s.workflowId ? [s.workflowId] : [])))].sort();
      await c.tx.lockItems(
        entries.map((s) => s.itemId),
        known,
        workflows,
      );
      await lockWorkflows(c, workflows);
      for (const s of entries) {
        try {
          const item = await settledItem(c, s, executorId);
          if (item.status !== 'running') {
            results.push({
              ok: false,
              error: new LeaseLostError(s.itemId, executorId, `the item is ${item.status}`),
            });
            continue;
          }
          if (s.kind === 'complete') await completeItem(c, item, s.output, s.usage);
          else
            await failItem(c, item, {
              error: { code: s.error.code, message: s.error.message },
              retryable: s.retryable,
              retryAfterMs: s.retryAfterMs,
            });
          results.push({ ok: true });
        } catch (error) {
          // Our own checks (lease lost, illegal transition) throw before anything is written
          // for this entry, so the others may commit. Anything else aborts the whole batch.
          if (!(error instanceof ConveyorError)) throw error;
          results.push({ ok: false, error });
        }
      }
      const claimed = claimRequest ? await claim(c, claimRequest) : [];
      return { results, claimed };
    });
    return claimRequest ? done.then((r) => (this.countClaim(r.claimed.length), r)) : done;
  }

  async verify(itemId: string): Promise<ReceiptVerification> {
    const item = await this.store.getItem(itemId);
    if (!item) throw new NotFoundError('work item', itemId, 'itemId');
    const receipts = await this.store.receipts(itemId);
    const result = verifyReceiptChain(itemId, receipts);
    if (!result.valid) return result;
    // The chain holds; it must also end where the item says it does (no receipt cut off).
    const last = receipts.at(-1);
    if (receipts.length !== item.receiptSeq || (last?.receiptHash ?? null) !== item.receiptHash) {
      return {
        itemId,
        valid: false,
        count: receipts.length,
        firstBrokenSeq: Math.min(receipts.length + 1, item.receiptSeq),
        reason: `the item's chain head is receipt ${item.receiptSeq}, the stored chain ends at ${receipts.length}`,
      };
    }
    return result;
  }

  close(): void {
    this.closed = true;
    this.notifier.close();
  }
}

/** The record a settlement carries, if it is one `executorId` claimed under this lease. */
const heldBy = (s: Settlement, executorId: string): ItemRecord | undefined =>
  s.held?.executorId === executorId && s.held.leaseToken === s.token ? s.held : undefined;

/** The item a settlement is about, as stored, if `executorId` still holds it (see `Settlement.held`). */
async function settledItem(c: TxContext, s: Settlement, executorId: string): Promise<ItemRecord> {
  const held = heldBy(s, executorId);
  if (held) {
    const now = await c.tx.itemFence(s.itemId);
    if (
      now &&
      now.status === held.status &&
      now.executorId === held.executorId &&
      now.leaseToken === held.leaseToken &&
      now.receiptSeq === held.receiptSeq
    )
      return held;
  }
  return getHeldItem(c, s.itemId, executorId, s.token);
}

/**
 * Locks the rows of the workflows whose steps a batch settles, in id order, before any
 * item a settlement touches next. Every settle then takes its locks in one order: its own
 * items (leased to it: no other settle wants them), the workflow rows, then the items
 * waiting on its own. Without it, two workers' batches locked their items' dependents first
 * (shared between them in a DAG) and then waited for the workflow row in turn: PostgreSQL
 * found deadlocks, and the rolled-back batches waited out the deadlock timeout (1 s) while
 * their leases ran on.
 */
async function lockWorkflows(c: TxContext, ids: readonly string[]): Promise<void> {
  // PostgreSQL took them with the items already (lockItems): these are answered from memory.
  for (const id of ids) await c.tx.getWorkflow(id);
}
