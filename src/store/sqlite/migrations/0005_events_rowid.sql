-- 0005_events_rowid: the event log keyed by a plain rowid instead of AUTOINCREMENT. Events
-- are never deleted (the log is append-only), so the next seq is always max(seq) + 1 either
-- way, and a rolled-back append frees its seq under both; AUTOINCREMENT only added a write
-- to sqlite_sequence on every append (measured ~1.5–3 µs of ~8 µs per event). The table is
-- rebuilt with its rows and seqs as they are.

CREATE TABLE events_by_rowid (
  seq          INTEGER PRIMARY KEY,
  type         TEXT    NOT NULL,
  at           INTEGER NOT NULL,
  tenant       TEXT    NOT NULL,
  item_id      TEXT,
  workflow_id  TEXT,
  data         TEXT    NOT NULL
) STRICT;
INSERT INTO events_by_rowid (seq, type, at, tenant, item_id, workflow_id, data)
  SELECT seq, type, at, tenant, item_id, workflow_id, data FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_by_rowid RENAME TO events;
DELETE FROM sqlite_sequence WHERE name = 'events';
CREATE INDEX events_item ON events (item_id, seq) WHERE item_id IS NOT NULL;
CREATE INDEX events_workflow ON events (workflow_id, seq) WHERE workflow_id IS NOT NULL;
