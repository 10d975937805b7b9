/**
 * @module transition
 * The one way an item's status changes: check the state machine, seal the receipt onto
 * the item's chain, patch the row, append the event that carries the receipt — all in the
 * caller's transaction.
 * The row patch and the event carry the same `patch`, which is what lets replay rebuild
 * the stored state from the log alone.
 */
import { randomUUID } from 'node:crypto';
import type { ItemError } from '../core/errors.js';
import type { Receipt } from '../core/types.js';
import { assertTransition, isTerminal, type ItemStatus, type ReceiptStatus } from '../core/item-state.js';
import { sealReceipt } from '../core/receipts.js';
import { toItemState, type ItemPatch, type ItemRecord, type LeasePatch } from '../store/records.js';
import {
  appendEvent,
  noteDequeued,
  noteQueued,
  type TransitionResult,
  type TxContext,
} from './tx-context.js';

export interface TransitionSpec {
  to: ItemStatus;
  receipt: ReceiptStatus;
  patch?: ItemPatch;
  lease?: LeasePatch;
  /** Who the receipt names; defaults to the item's executor after the patch. */
  actor?: string | null;
}

export type { TransitionResult };

const RECEIPTS_WITH_ERROR: ReadonlySet<ReceiptStatus> = new Set([
  'failed',
  'retried',
  'lease_expired',
  'cancelled',
  'skipped',
]);

export async function applyTransition(
  c: TxContext,
  item: ItemRecord | 'new',
  next: ItemRecord | TransitionSpec,
): Promise<TransitionResult> {
  // Enqueue passes the complete new record; every later step passes a spec.
  if (item === 'new') return insertNew(c, next as ItemRecord);
  const spec = next as TransitionSpec;
  assertTransition(item.id, item.status, spec.to, spec.receipt);
  // One copy of the record: patched fields first, the receipt head filled in below.
  const merged: ItemRecord = { ...item, ...spec.patch, ...spec.lease, status: spec.to };
  const receipt = sealReceipt({
    id: randomUUID(),
    itemId: item.id,
    seq: item.receiptSeq + 1,
    status: spec.receipt,
    timestamp_iso: new Date(c.now).toISOString(),
    executorId: spec.actor !== undefined ? spec.actor : merged.executorId,
    progress: merged.progress,
    output: spec.receipt === 'completed' ? merged.output : null,
    error: RECEIPTS_WITH_ERROR.has(spec.receipt) ? merged.error : null,
    retryCount: merged.retries,
    previousReceiptHash: item.receiptHash,
  });
  const patch: ItemPatch = {
    ...spec.patch,
    status: spec.to,
    receiptSeq: receipt.seq,
    receiptHash: receipt.receiptHash,
  };
  await c.tx.updateItem(item.id, patch, spec.lease);
  await appendItemEvent(c, item, `item.${spec.receipt}`, { from: item.status, to: spec.to, patch }, receipt);
  merged.receiptSeq = receipt.seq;
  merged.receiptHash = receipt.receiptHash;
  if (spec.to === 'queued') noteQueued(c, merged);
  else if (item.status === 'queued') noteDequeued(c, item);
  if (merged.workflowId !== null && c.hooks) {
    if (spec.to === 'queued') c.steps.queued.push(merged);
    else if (isTerminal(spec.to)) c.steps.finished.push(merged);
  }
  if (merged.webhookUrl !== null && isTerminal(spec.to)) {
    c.webhooks.push({
      kind: 'task',
      id: merged.id,
      tenant: merged.tenant,
      url: merged.webhookUrl,
      status: spec.to,
    });
  }
  return { item: merged, receipt };
}

async function insertNew(c: TxContext, record: ItemRecord): Promise<TransitionResult> {
  assertTransition(record.id, 'new', record.status, 'enqueued');
  const receipt = sealReceipt({
    id: randomUUID(),
    itemId: record.id,
    seq: 1,
    status: 'enqueued',
    timestamp_iso: new Date(c.now).toISOString(),
    executorId: null,
    progress: record.progress,
    output: null,
    error: null,
    retryCount: 0,
    previousReceiptHash: null,
  });
  const item: ItemRecord = { ...record, receiptSeq: 1, receiptHash: receipt.receiptHash };
  await c.tx.insertItem(item);
  const state = toItemState(item);
  await appendItemEvent(c, item, 'item.enqueued', { to: item.status, item: state }, receipt);
  if (item.status === 'queued') {
    noteQueued(c, item);
    if (item.workflowId !== null && c.hooks) c.steps.queued.push(item);
  }
  return { item, receipt };
}

/**
 * A change that is not a transition (budget usage): patch and event, no receipt, so the
 * log still explains every stored field.
 */
export async function applyStateChange(
  c: TxContext,
  item: ItemRecord,
  type: string,
  patch: ItemPatch,
): Promise<ItemRecord> {
  await c.tx.updateItem(item.id, patch);
  await appendItemEvent(c, item, type, { from: item.status, to: item.status, patch });
  return { ...item, ...patch };
}

/** Appends an event about `item` (with the receipt of a transition) to the log, in the caller's transaction. */
async function appendItemEvent(
  c: TxContext,
  item: Pick<ItemRecord, 'id' | 'tenant' | 'workflowId'>,
  type: string,
  data: Record<string, unknown>,
  receipt?: Receipt,
): Promise<void> {
  await appendEvent(c, {
    type,
    at: c.now,
    tenant: item.tenant,
    itemId: item.id,
    workflowId: item.workflowId,
    data,
    receipt,
  });
}

export const errorOf = (code: string, message: string): ItemError => ({ code, message });
