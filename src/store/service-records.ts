/**
 * @module service-records
 * What the HTTP service stores besides items and runs (migration 0003): workflow drafts,
 * webhook delivery attempts and the tenants' webhook signing secrets. Times are epoch ms.
 */

/** A workflow being assembled before it starts; `document` is the draft's JSON body. */
export interface DraftRecord {
  id: string;
  tenant: string;
  name: string;
  document: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export type WebhookOutcome = 'delivered' | 'failed' | 'blocked';

/** One attempt at delivering one webhook. */
export interface WebhookAttemptRecord {
  seq: number;
  tenant: string;
  /** The task or workflow the webhook is about. */
  subjectId: string;
  /** The work item that delivers it. */
  deliveryId: string;
  /** The `webhook-id` header: the same on every attempt, so receivers can deduplicate. */
  webhookId: string;
  eventType: string;
  url: string;
  attempt: number;
  at: number;
  /** Null when no response came back (refused, timed out, blocked). */
  statusCode: number | null;
  durationMs: number;
  outcome: WebhookOutcome;
  error: string | null;
}

export type NewWebhookAttempt = Omit<WebhookAttemptRecord, 'seq'>;

/** Reads of the service's tables. */
export interface ServiceReads {
  getDraft(id: string): DraftRecord | undefined | Promise<DraftRecord | undefined>;
  /** Oldest first. */
  webhookAttempts(subjectId: string, limit: number): WebhookAttemptRecord[] | Promise<WebhookAttemptRecord[]>;
  tenantSecret(tenant: string): string | undefined | Promise<string | undefined>;
}

/** Writes of the service's tables; only inside `Store.write`. */
export interface ServiceWrites {
  /** Inserts the draft, or replaces the one with its id. */
  putDraft(draft: DraftRecord): void | Promise<void>;
  deleteDraft(id: string): void | Promise<void>;
  insertWebhookAttempt(attempt: NewWebhookAttempt): void | Promise<void>;
  /** Stores `secret` for `tenant` unless it has one already (then the stored one stands). */
  insertTenantSecret(tenant: string, secret: string, at: number): void | Promise<void>;
}
