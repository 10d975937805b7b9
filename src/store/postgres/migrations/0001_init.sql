-- 0001_init: the PostgreSQL twin of the SQLite schema: the same tables and columns (JSON as
-- text, times as epoch milliseconds in bigint), so both backends share one row mapping.
-- Runs inside the schema chosen by the `schema` option (search_path).

CREATE TABLE items (
  seq               bigserial        PRIMARY KEY,   -- enqueue order (FIFO tie-break, list cursor)
  id                text             NOT NULL UNIQUE,
  tenant            text             NOT NULL,
  queue             text             NOT NULL,
  type              text             NOT NULL,
  payload           text             NOT NULL,
  status            text             NOT NULL,
  priority          integer          NOT NULL,
  required_caps     text             NOT NULL,      -- JSON array of strings, '[]' when none
  dependencies      text             NOT NULL,      -- JSON array of item ids
  max_duration_ms   bigint,
  max_retries       integer          NOT NULL,
  backoff           text             NOT NULL,
  budget            text,
  usage             text             NOT NULL,
  idempotency_key   text,
  webhook_url       text,
  workflow_id       text,
  step_id           text,
  progress          double precision NOT NULL,
  progress_message  text,
  attempts          integer          NOT NULL,
  retries           integer          NOT NULL,
  output            text,
  error             text,
  executor_id       text,
  created_at        bigint           NOT NULL,
  assigned_at       bigint,
  started_at        bigint,
  finished_at       bigint,
  run_at            bigint           NOT NULL,
  deadline_at       bigint,
  receipt_seq       integer          NOT NULL,
  receipt_hash      text,
  lease_token       bigint           NOT NULL,
  lease_expires_at  bigint
);

-- Claim order; only queued rows are in it. Claims read it with FOR UPDATE SKIP LOCKED.
CREATE INDEX items_claim ON items (priority DESC, run_at, seq) WHERE status = 'queued';
-- Lists by status; also the reaper's and the executor-capacity scans of in-flight rows.
CREATE INDEX items_status ON items (status, seq);
CREATE INDEX items_tenant ON items (tenant, seq);
CREATE INDEX items_workflow ON items (workflow_id, seq) WHERE workflow_id IS NOT NULL;
CREATE UNIQUE INDEX items_idempotency ON items (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE item_deps (
  item_id        text NOT NULL,
  depends_on_id  text NOT NULL,
  PRIMARY KEY (item_id, depends_on_id)
);
CREATE INDEX item_deps_parent ON item_deps (depends_on_id, item_id);

CREATE TABLE receipts (
  item_id        text             NOT NULL,
  seq            integer          NOT NULL,
  id             text             NOT NULL,
  status         text             NOT NULL,
  timestamp_iso  text             NOT NULL,
  executor_id    text,
  progress       double precision NOT NULL,
  output         text,
  error          text,
  retry_count    integer          NOT NULL,
  previous_hash  text,
  receipt_hash   text             NOT NULL,
  PRIMARY KEY (item_id, seq)
);

-- The append-only log. Writers insert under a transaction-level advisory lock held to
-- commit, so seqs are handed out in commit order and a reader never finds a gap fill in.
CREATE TABLE events (
  seq          bigserial PRIMARY KEY,
  type         text      NOT NULL,
  at           bigint    NOT NULL,
  tenant       text      NOT NULL,
  item_id      text,
  workflow_id  text,
  data         text      NOT NULL
);
CREATE INDEX events_item ON events (item_id, seq) WHERE item_id IS NOT NULL;
CREATE INDEX events_workflow ON events (workflow_id, seq) WHERE workflow_id IS NOT NULL;

CREATE TABLE executors (
  id             text    PRIMARY KEY,
  capabilities   text    NOT NULL,
  concurrency    integer NOT NULL,
  busy           integer NOT NULL,
  registered_at  bigint  NOT NULL,
  last_seen_at   bigint  NOT NULL
);

CREATE TABLE item_logs (
  seq      bigserial PRIMARY KEY,
  item_id  text      NOT NULL,
  attempt  integer   NOT NULL,
  at       bigint    NOT NULL,
  message  text      NOT NULL
);
CREATE INDEX item_logs_item ON item_logs (item_id, seq);

-- Idle claimers waiting for a targeted wake-up (LISTEN on `channel`). Coordination only,
-- lost harmlessly in a crash (a lapsed registration falls back to polling): UNLOGGED.
CREATE UNLOGGED TABLE waiters (
  id          text    PRIMARY KEY,
  channel     text    NOT NULL,
  types       text[],
  queues      text[],
  caps        text[]  NOT NULL,
  since       bigint  NOT NULL,
  expires_at  bigint  NOT NULL
);
