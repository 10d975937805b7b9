-- 0003_service: the PostgreSQL twin of the SQLite migration of the same name: what the HTTP
-- service keeps besides items and runs: a task's display name and the item it retries,
-- workflow drafts, every webhook delivery attempt, and each tenant's webhook signing secret.

ALTER TABLE items ADD COLUMN name text;            -- display name (HTTP `name`), NULL when none
-- A failed or cancelled item stays final; retrying it enqueues a copy that names it here.
ALTER TABLE items ADD COLUMN retry_of text;

-- A workflow being assembled (POST /api/workflows, then phases and tasks); starting it turns
-- the draft into a run with the same id and deletes the draft, in one transaction.
CREATE TABLE workflow_drafts (
  seq          bigserial PRIMARY KEY,
  id           text       NOT NULL UNIQUE,
  tenant       text       NOT NULL,
  name         text       NOT NULL,
  document     text       NOT NULL,                   -- JSON {description, phases, steps, input, webhookUrl}
  created_at   bigint  NOT NULL,
  updated_at   bigint  NOT NULL
);

-- One row per delivery attempt of a webhook (the delivery itself is a work item).
CREATE TABLE webhook_attempts (
  seq          bigserial PRIMARY KEY,
  tenant       text       NOT NULL,
  subject_id   text       NOT NULL,                   -- the task or workflow the webhook is about
  delivery_id  text       NOT NULL,                   -- the delivery's work item
  webhook_id   text       NOT NULL,                   -- the `webhook-id` header (same on every retry)
  event_type   text       NOT NULL,
  url          text       NOT NULL,
  attempt      bigint  NOT NULL,
  at           bigint  NOT NULL,
  status_code  bigint,                            -- NULL when no response came back
  duration_ms  double precision    NOT NULL,
  outcome      text       NOT NULL,                   -- delivered | failed | blocked
  error        text
);
CREATE INDEX webhook_attempts_subject ON webhook_attempts (subject_id, seq);

CREATE TABLE tenant_secrets (
  tenant          text       PRIMARY KEY,
  webhook_secret  text       NOT NULL,                -- whsec_<base64>
  created_at      bigint  NOT NULL
);
