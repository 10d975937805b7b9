/**
 * @module retry
 * `retryWorkItem`: a failed or cancelled item runs again. Final states stay final (CONTRACT
 * §2: no transition leaves them, and the receipt chain is sealed), so the retry is a new
 * item with the same type, name, payload and constraints that names the one it retries in
 * `retryOf`. Its dependencies are not copied: they had all finished.
 */
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { ItemRecord } from '../store/records.js';
import { enqueuePlanned, planItem } from './enqueue.js';
import type { TxContext } from './tx-context.js';
import type { ParsedEnqueue } from './validation.js';

const RETRYABLE = new Set(['failed', 'cancelled']);

export async function retryItem(c: TxContext, id: string): Promise<ItemRecord> {
  const item = await c.tx.getItem(id);
  if (!item) throw new NotFoundError('work item', id, 'id');
  if (!RETRYABLE.has(item.status))
    throw new ConflictError(
      `work item ${id} is ${item.status}: only a failed or cancelled item can be retried`,
      {
        field: 'id',
        status: item.status,
      },
    );
  if (item.workflowId !== null)
    throw new ConflictError(
      `work item ${id} is a step of workflow ${item.workflowId}: start the workflow again`,
      {
        field: 'id',
        workflowId: item.workflowId,
      },
    );
  const input: ParsedEnqueue = {
    type: item.type,
    payload: item.payload,
    priority: item.priority,
    queue: item.queue,
    tenant: item.tenant,
    constraints: {
      ...(item.maxDurationMs !== null ? { maxDurationMs: item.maxDurationMs } : {}),
      requiredCapabilities: item.requiredCapabilities,
      maxRetries: item.maxRetries,
      backoff: { ...item.backoff },
    },
    ...(item.name !== null ? { name: item.name } : {}),
    ...(item.budget !== null ? { budget: item.budget } : {}),
    ...(item.webhookUrl !== null ? { webhookUrl: item.webhookUrl } : {}),
  };
  const planned = { ...planItem(input, 0, item.tenant), extras: { retryOf: item.id } };
  const [created] = await enqueuePlanned(c, [planned]);
  return created!;
}
