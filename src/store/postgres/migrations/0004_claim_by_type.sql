-- 0004_claim_by_type: the PostgreSQL twin of the SQLite migration of the same name: claim
-- order within one type, so a claimer that handles only some types merges the starts of
-- their runs of this index instead of walking items_claim past every queued item of the
-- types it does not take. Runs inside the schema chosen by the `schema` option (search_path).
-- A plain CREATE INDEX (migrations run in a transaction): it holds off writes to items
-- while it builds, which takes a moment on a table with millions of rows.

CREATE INDEX items_claim_type ON items (type, priority DESC, run_at, seq) WHERE status = 'queued';
