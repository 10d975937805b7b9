-- 0002_workflows: the PostgreSQL twin of the SQLite migration of the same name: workflow
-- instances, the events sent to them, and the shared state of the resilience policies
-- (token buckets, circuit breakers, the step cache); items learn their policies and, for
-- the children of a parallel map, their index; and how many of its dependencies are left.

ALTER TABLE items ADD COLUMN policies text;        -- JSON {rateLimit?, circuitBreaker?, batch?}, NULL when none
ALTER TABLE items ADD COLUMN map_index integer;    -- a map step's child: its element's index

-- Dependencies not completed yet: a completing parent counts its pending dependents down
-- and queues those that reach 0, so a fan-in of N steps costs O(N), not O(N²).
ALTER TABLE items ADD COLUMN unfinished_deps integer NOT NULL DEFAULT 0;

-- A map step gathers its children's outputs in index order.
CREATE INDEX items_map ON items (workflow_id, step_id, map_index) WHERE map_index IS NOT NULL;

CREATE TABLE workflows (
  seq              bigserial PRIMARY KEY,          -- creation order (list cursor)
  id               text      NOT NULL UNIQUE,
  tenant           text      NOT NULL,
  name             text      NOT NULL,
  status           text      NOT NULL,             -- draft | running | completed | failed | cancelled
  definition       text      NOT NULL,             -- JSON WorkflowDefinition
  input            text      NOT NULL,             -- JSON
  counters         text      NOT NULL,             -- JSON: steps total/finished/failed, map progress
  error            text,                           -- JSON {code, message} once failed or cancelled
  webhook_url      text,
  idempotency_key  text,
  created_at       bigint    NOT NULL,
  started_at       bigint,
  finished_at      bigint
);
CREATE INDEX workflows_status ON workflows (status, seq);
CREATE INDEX workflows_tenant ON workflows (tenant, seq);
CREATE UNIQUE INDEX workflows_idempotency ON workflows (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Events sent to a workflow (`sendEvent`); a waitForEvent step takes the first of its name.
CREATE TABLE workflow_signals (
  seq          bigserial PRIMARY KEY,
  id           text      NOT NULL UNIQUE,
  workflow_id  text      NOT NULL,
  name         text      NOT NULL,
  payload      text      NOT NULL,                 -- JSON
  received_at  bigint    NOT NULL
);
CREATE INDEX workflow_signals_name ON workflow_signals (workflow_id, name, seq);

-- Token buckets of `rateLimit` policies, shared by every worker.
CREATE TABLE rate_limits (
  key         text             PRIMARY KEY,
  tokens      double precision NOT NULL,
  updated_at  bigint           NOT NULL
);

-- Circuit breakers of `circuitBreaker` policies, shared by every worker.
CREATE TABLE circuit_breakers (
  key            text    PRIMARY KEY,
  state          text    NOT NULL,                 -- closed | open | half_open
  failures       integer NOT NULL,                 -- consecutive failures
  opened_at      bigint,
  trial_item_id  text,                             -- half_open: the one item let through
  updated_at     bigint  NOT NULL
);

-- Cache-aside store of `cache` policies: key → a step's output until expires_at.
CREATE TABLE step_cache (
  key         text   PRIMARY KEY,
  output      text   NOT NULL,                     -- JSON
  expires_at  bigint NOT NULL
);
