CREATE TABLE circuit_breakers (
  key            TEXT    PRIMARY KEY,
  state          TEXT    NOT NULL,                 -- closed | open | half_open
  failures       INTEGER NOT NULL,                 -- consecutive failures
  opened_at      INTEGER,
  trial_item_id  TEXT,                             -- half_open: the one item let through
  updated_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE "events" (
  seq          INTEGER PRIMARY KEY,
  type         TEXT    NOT NULL,
  at           INTEGER NOT NULL,
  tenant       TEXT    NOT NULL,
  item_id      TEXT,
  workflow_id  TEXT,
  data         TEXT    NOT NULL
, receipt_seq INTEGER, receipt_id TEXT, receipt_status TEXT, receipt_timestamp TEXT, receipt_executor_id TEXT, receipt_progress REAL, receipt_output TEXT, receipt_error TEXT, receipt_retry_count INTEGER, receipt_previous_hash TEXT, receipt_hash TEXT) STRICT;

CREATE TABLE executors (
  id             TEXT    PRIMARY KEY,
  capabilities   TEXT    NOT NULL,
  concurrency    INTEGER NOT NULL,
  busy           INTEGER NOT NULL,
  registered_at  INTEGER NOT NULL,
  last_seen_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE item_deps (
  item_id        TEXT NOT NULL,
  depends_on_id  TEXT NOT NULL,
  PRIMARY KEY (item_id, depends_on_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE item_logs (
  seq      INTEGER PRIMARY KEY,
  item_id  TEXT    NOT NULL,
  attempt  INTEGER NOT NULL,
  at       INTEGER NOT NULL,
  message  TEXT    NOT NULL
) STRICT;

CREATE TABLE items (
  seq               INTEGER PRIMARY KEY,           -- enqueue order (FIFO tie-break, list cursor)
  id                TEXT    NOT NULL UNIQUE,
  tenant            TEXT    NOT NULL,
  queue             TEXT    NOT NULL,
  type              TEXT    NOT NULL,
  payload           TEXT    NOT NULL,
  status            TEXT    NOT NULL,
  priority          INTEGER NOT NULL,
  required_caps     TEXT    NOT NULL,              -- JSON array of strings, '[]' when none
  dependencies      TEXT    NOT NULL,              -- JSON array of item ids
  max_duration_ms   INTEGER,
  max_retries       INTEGER NOT NULL,
  backoff           TEXT    NOT NULL,
  budget            TEXT,
  usage             TEXT    NOT NULL,
  idempotency_key   TEXT,
  webhook_url       TEXT,
  workflow_id       TEXT,
  step_id           TEXT,
  progress          REAL    NOT NULL,
  progress_message  TEXT,
  attempts          INTEGER NOT NULL,
  retries           INTEGER NOT NULL,
  output            TEXT,
  error             TEXT,
  executor_id       TEXT,
  created_at        INTEGER NOT NULL,
  assigned_at       INTEGER,
  started_at        INTEGER,
  finished_at       INTEGER,
  run_at            INTEGER NOT NULL,
  deadline_at       INTEGER,
  receipt_seq       INTEGER NOT NULL,
  receipt_hash      TEXT,
  lease_token       INTEGER NOT NULL,
  lease_expires_at  INTEGER
, policies TEXT, map_index INTEGER, unfinished_deps INTEGER NOT NULL DEFAULT 0, name TEXT, retry_of TEXT) STRICT;

CREATE TABLE rate_limits (
  key         TEXT    PRIMARY KEY,
  tokens      REAL    NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;

CREATE TABLE step_cache (
  key         TEXT    PRIMARY KEY,
  output      TEXT    NOT NULL,                    -- JSON
  expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE tenant_secrets (
  tenant          TEXT    PRIMARY KEY,
  webhook_secret  TEXT    NOT NULL,                -- whsec_<base64>
  created_at      INTEGER NOT NULL
) STRICT;

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

CREATE TABLE workflow_drafts (
  seq          INTEGER PRIMARY KEY,
  id           TEXT    NOT NULL UNIQUE,
  tenant       TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  document     TEXT    NOT NULL,                   -- JSON {description, phases, steps, input, webhookUrl}
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE workflow_signals (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL UNIQUE,
  workflow_id  TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  payload      TEXT    NOT NULL,                   -- JSON
  received_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE workflows (
  seq              INTEGER PRIMARY KEY,            -- creation order (list cursor)
  id               TEXT    NOT NULL UNIQUE,
  tenant           TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  status           TEXT    NOT NULL,               -- draft | running | completed | failed | cancelled
  definition       TEXT    NOT NULL,               -- JSON WorkflowDefinition
  input            TEXT    NOT NULL,               -- JSON
  counters         TEXT    NOT NULL,               -- JSON: steps total/finished/failed, map progress
  error            TEXT,                           -- JSON {code, message} once failed or cancelled
  webhook_url      TEXT,
  idempotency_key  TEXT,
  created_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER
) STRICT;

CREATE INDEX events_item ON events (item_id, seq) WHERE item_id IS NOT NULL;

CREATE INDEX events_workflow ON events (workflow_id, seq) WHERE workflow_id IS NOT NULL;

CREATE INDEX item_deps_parent ON item_deps (depends_on_id, item_id);

CREATE INDEX item_logs_item ON item_logs (item_id, seq);

CREATE INDEX items_claim ON items (priority DESC, run_at, seq) WHERE status = 'queued';

CREATE INDEX items_claim_type ON items (type, priority DESC, run_at, seq) WHERE status = 'queued';

CREATE UNIQUE INDEX items_idempotency ON items (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE INDEX items_map ON items (workflow_id, step_id, map_index) WHERE map_index IS NOT NULL;

CREATE INDEX items_status ON items (status, seq);

CREATE INDEX items_tenant ON items (tenant, seq);

CREATE INDEX items_workflow ON items (workflow_id, seq) WHERE workflow_id IS NOT NULL;

CREATE INDEX webhook_attempts_subject ON webhook_attempts (subject_id, seq);

CREATE INDEX workflow_signals_name ON workflow_signals (workflow_id, name, seq);

CREATE UNIQUE INDEX workflows_idempotency ON workflows (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE INDEX workflows_status ON workflows (status, seq);

CREATE INDEX workflows_tenant ON workflows (tenant, seq);
