-- 0002_workflows: workflow instances, the events sent to them, and the shared state of the
-- resilience policies (token buckets, circuit breakers, the step cache). Work items learn
-- the policies that apply to them, for the children of a parallel map their index, and
-- how many of their dependencies have not completed.

ALTER TABLE items ADD COLUMN policies TEXT;        -- JSON {rateLimit?, circuitBreaker?, batch?}, NULL when none
ALTER TABLE items ADD COLUMN map_index INTEGER;    -- a map step's child: its element's index

-- Dependencies not completed yet: a completing parent counts its pending dependents down
-- and queues those that reach 0, so a fan-in of N steps costs O(N), not O(N²).
ALTER TABLE items ADD COLUMN unfinished_deps INTEGER NOT NULL DEFAULT 0;

-- A map step gathers its children's outputs in index order.
CREATE INDEX items_map ON items (workflow_id, step_id, map_index) WHERE map_index IS NOT NULL;

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
CREATE INDEX workflows_status ON workflows (status, seq);
CREATE INDEX workflows_tenant ON workflows (tenant, seq);
CREATE UNIQUE INDEX workflows_idempotency ON workflows (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Events sent to a workflow (`sendEvent`); a waitForEvent step takes the first of its name.
CREATE TABLE workflow_signals (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL UNIQUE,
  workflow_id  TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  payload      TEXT    NOT NULL,                   -- JSON
  received_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX workflow_signals_name ON workflow_signals (workflow_id, name, seq);

-- Token buckets of `rateLimit` policies, shared by every worker.
CREATE TABLE rate_limits (
  key         TEXT    PRIMARY KEY,
  tokens      REAL    NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Circuit breakers of `circuitBreaker` policies, shared by every worker.
CREATE TABLE circuit_breakers (
  key            TEXT    PRIMARY KEY,
  state          TEXT    NOT NULL,                 -- closed | open | half_open
  failures       INTEGER NOT NULL,                 -- consecutive failures
  opened_at      INTEGER,
  trial_item_id  TEXT,                             -- half_open: the one item let through
  updated_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Cache-aside store of `cache` policies: key → a step's output until expires_at.
CREATE TABLE step_cache (
  key         TEXT    PRIMARY KEY,
  output      TEXT    NOT NULL,                    -- JSON
  expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
