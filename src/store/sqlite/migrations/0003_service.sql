-- 0003_service: what the HTTP service keeps besides items and runs: a task's display name
-- and the item it retries, workflow drafts built up step by step before they start, every
-- webhook delivery attempt, and each tenant's webhook signing secret.

ALTER TABLE items ADD COLUMN name TEXT;            -- display name (HTTP `name`), NULL when none
-- A failed or cancelled item stays final; retrying it enqueues a copy that names it here.
ALTER TABLE items ADD COLUMN retry_of TEXT;

-- A workflow being assembled (POST /api/workflows, then phases and tasks); starting it turns
-- the draft into a run with the same id and deletes the draft, in one transaction.
CREATE TABLE workflow_drafts (
  seq          INTEGER PRIMARY KEY,
  id           TEXT    NOT NULL UNIQUE,
  tenant       TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  document     TEXT    NOT NULL,                   -- JSON {description, phases, steps, input, webhookUrl}
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;

-- One row per delivery attempt of a webhook (the delivery itself is a work item).
CREATE TABLE webhook_attempts (
  seq          INTEGER PRIMARY KEY,
  tenant       TEXT    NOT NULL,
  subject_id   TEXT    NOT NULL,                   -- the task or workflow the webhook is about
  delivery_id  TEXT    NOT NULL,                   -- the delivery's work item
  webhook_id   TEXT    NOT NULL,                   -- the `webhook-id` header (same on every retry)
  event_type   TEXT    NOT NULL,
  url          TEXT    NOT NULL,
  attempt      INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  status_code  INTEGER,                            -- NULL when no response came back
  duration_ms  REAL    NOT NULL,
  outcome      TEXT    NOT NULL,                   -- delivered | failed | blocked
  error        TEXT
) STRICT;
CREATE INDEX webhook_attempts_subject ON webhook_attempts (subject_id, seq);

CREATE TABLE tenant_secrets (
  tenant          TEXT    PRIMARY KEY,
  webhook_secret  TEXT    NOT NULL,                -- whsec_<base64>
  created_at      INTEGER NOT NULL
) STRICT;
