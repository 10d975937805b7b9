/**
 * @module service-rows
 * Rows of workflow_drafts and webhook_attempts and their mapping to records; both backends
 * store the same columns, so one mapping serves both.
 */
import type {
  DraftRecord,
  NewWebhookAttempt,
  WebhookAttemptRecord,
  WebhookOutcome,
} from '../service-records.js';

export interface DraftRow {
  seq: number;
  id: string;
  tenant: string;
  name: string;
  document: string;
  created_at: number;
  updated_at: number;
}

export const toDraft = (r: DraftRow): DraftRecord => ({
  id: r.id,
  tenant: r.tenant,
  name: r.name,
  document: JSON.parse(r.document) as Record<string, unknown>,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const draftParams = (d: DraftRecord): Omit<DraftRow, 'seq'> => ({
  id: d.id,
  tenant: d.tenant,
  name: d.name,
  document: JSON.stringify(d.document),
  created_at: d.createdAt,
  updated_at: d.updatedAt,
});

export interface WebhookAttemptRow {
  seq: number;
  tenant: string;
  subject_id: string;
  delivery_id: string;
  webhook_id: string;
  event_type: string;
  url: string;
  attempt: number;
  at: number;
  status_code: number | null;
  duration_ms: number;
  outcome: string;
  error: string | null;
}

export const toWebhookAttempt = (r: WebhookAttemptRow): WebhookAttemptRecord => ({
  seq: r.seq,
  tenant: r.tenant,
  subjectId: r.subject_id,
  deliveryId: r.delivery_id,
  webhookId: r.webhook_id,
  eventType: r.event_type,
  url: r.url,
  attempt: r.attempt,
  at: r.at,
  statusCode: r.status_code,
  durationMs: r.duration_ms,
  outcome: r.outcome as WebhookOutcome,
  error: r.error,
});

export const webhookAttemptParams = (a: NewWebhookAttempt): Omit<WebhookAttemptRow, 'seq'> => ({
  tenant: a.tenant,
  subject_id: a.subjectId,
  delivery_id: a.deliveryId,
  webhook_id: a.webhookId,
  event_type: a.eventType,
  url: a.url,
  attempt: a.attempt,
  at: a.at,
  status_code: a.statusCode,
  duration_ms: a.durationMs,
  outcome: a.outcome,
  error: a.error,
});

export const WEBHOOK_ATTEMPT_COLUMNS = Object.keys(webhookAttemptParams({} as NewWebhookAttempt));
