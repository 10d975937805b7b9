/**
 * @module sqlite-service
 * The HTTP service's tables on SQLite: workflow drafts, webhook attempts, tenant secrets.
 */
import type Database from 'better-sqlite3';
import {
  draftParams,
  toDraft,
  toWebhookAttempt,
  WEBHOOK_ATTEMPT_COLUMNS,
  webhookAttemptParams,
  type DraftRow,
  type WebhookAttemptRow,
} from '../rows/service-rows.js';
import type { ServiceReads, ServiceWrites } from '../service-records.js';

export function createSqliteService(db: Database.Database): ServiceReads & ServiceWrites {
  const getDraft = db.prepare<[string], DraftRow>('SELECT * FROM workflow_drafts WHERE id = ?');
  const putDraft = db.prepare(
    `INSERT INTO workflow_drafts (id, tenant, name, document, created_at, updated_at)
     VALUES (@id, @tenant, @name, @document, @created_at, @updated_at)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document,
       updated_at = excluded.updated_at`,
  );
  const deleteDraft = db.prepare('DELETE FROM workflow_drafts WHERE id = ?');
  const insertAttempt = db.prepare(
    `INSERT INTO webhook_attempts (${WEBHOOK_ATTEMPT_COLUMNS.join(', ')})
     VALUES (${WEBHOOK_ATTEMPT_COLUMNS.map((c) => '@' + c).join(', ')})`,
  );
  const attempts = db.prepare<[string, number], WebhookAttemptRow>(
    'SELECT * FROM webhook_attempts WHERE subject_id = ? ORDER BY seq LIMIT ? + 0',
  );
  const secret = db.prepare<[string], { webhook_secret: string }>(
    'SELECT webhook_secret FROM tenant_secrets WHERE tenant = ?',
  );
  const insertSecret = db.prepare(
    'INSERT INTO tenant_secrets (tenant, webhook_secret, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  return {
    getDraft(id) {
      const row = getDraft.get(id);
      return row ? toDraft(row) : undefined;
    },
    webhookAttempts: (subjectId, limit) => attempts.all(subjectId, limit).map(toWebhookAttempt),
    tenantSecret: (tenant) => secret.get(tenant)?.webhook_secret,
    putDraft(d) {
      putDraft.run(draftParams(d));
    },
    deleteDraft(id) {
      deleteDraft.run(id);
    },
    insertWebhookAttempt(a) {
      insertAttempt.run(webhookAttemptParams(a));
    },
    insertTenantSecret(tenant, value, at) {
      insertSecret.run(tenant, value, at);
    },
  };
}
