/**
 * @module pg-service
 * The HTTP service's tables on PostgreSQL: workflow drafts, webhook attempts, tenant
 * secrets. Reads run on the pool or, inside a transaction, behind everything it holds
 * back; writes are held back like the transaction's others (see pg-tx.ts).
 */
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
import { inlineSql, type Query } from './pg-sql.js';

export function createPgServiceReads(query: Query): ServiceReads {
  return {
    async getDraft(id) {
      const [row] = await query<DraftRow>('SELECT * FROM workflow_drafts WHERE id = $1 FOR UPDATE', [id]);
      return row ? toDraft(row) : undefined;
    },
    async webhookAttempts(subjectId, limit) {
      const rows = await query<WebhookAttemptRow>(
        'SELECT * FROM webhook_attempts WHERE subject_id = $1 ORDER BY seq LIMIT $2',
        [subjectId, limit],
      );
      return rows.map(toWebhookAttempt);
    },
    async tenantSecret(tenant) {
      const [row] = await query<{ webhook_secret: string }>(
        'SELECT webhook_secret FROM tenant_secrets WHERE tenant = $1',
        [tenant],
      );
      return row?.webhook_secret;
    },
  };
}

/** @param defer holds back a literal statement, sent in order with the transaction's next text */
export function createPgServiceWrites(defer: (sql: string) => void): ServiceWrites {
  return {
    putDraft(d) {
      const p = draftParams(d);
      defer(
        inlineSql(
          `INSERT INTO workflow_drafts (id, tenant, name, document, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name, document = excluded.document,
             updated_at = excluded.updated_at`,
          [p.id, p.tenant, p.name, p.document, p.created_at, p.updated_at],
        ),
      );
    },
    deleteDraft: (id) => defer(inlineSql('DELETE FROM workflow_drafts WHERE id = $1', [id])),
    insertWebhookAttempt(a) {
      const p = webhookAttemptParams(a) as unknown as Record<string, unknown>;
      const values = WEBHOOK_ATTEMPT_COLUMNS.map((c) => p[c]);
      defer(
        inlineSql(
          `INSERT INTO webhook_attempts (${WEBHOOK_ATTEMPT_COLUMNS.join(', ')})
           VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
          values,
        ),
      );
    },
    insertTenantSecret: (tenant, secret, at) =>
      defer(
        inlineSql(
          'INSERT INTO tenant_secrets (tenant, webhook_secret, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [tenant, secret, at],
        ),
      ),
  };
}
