-- 0006_receipts_in_events: each transition's receipt moves into the row of the event that
-- records the transition. A transition wrote a receipt row and an event row in the same
-- transaction; now it writes one row, and an item's receipt chain is its events that carry
-- a receipt, in log order (events_item already indexes them). The receipts table was the
-- costliest write of a transition (a WITHOUT ROWID table keyed by item: most inserts split
-- a page in the middle of it).
--
-- Every receipt is matched to its event by item and seq: a transition's event says its
-- receipt's seq in `patch.receiptSeq`, an enqueue in `item.receiptSeq`. The migration
-- refuses to finish (the CHECK below fails, nothing is changed) unless every receipt found
-- its event, so no receipt is ever dropped.

ALTER TABLE events ADD COLUMN receipt_seq INTEGER;
ALTER TABLE events ADD COLUMN receipt_id TEXT;
ALTER TABLE events ADD COLUMN receipt_status TEXT;
ALTER TABLE events ADD COLUMN receipt_timestamp TEXT;
ALTER TABLE events ADD COLUMN receipt_executor_id TEXT;
ALTER TABLE events ADD COLUMN receipt_progress REAL;
ALTER TABLE events ADD COLUMN receipt_output TEXT;
ALTER TABLE events ADD COLUMN receipt_error TEXT;
ALTER TABLE events ADD COLUMN receipt_retry_count INTEGER;
ALTER TABLE events ADD COLUMN receipt_previous_hash TEXT;
ALTER TABLE events ADD COLUMN receipt_hash TEXT;

UPDATE events SET
  receipt_seq = r.seq,
  receipt_id = r.id,
  receipt_status = r.status,
  receipt_timestamp = r.timestamp_iso,
  receipt_executor_id = r.executor_id,
  receipt_progress = r.progress,
  receipt_output = r.output,
  receipt_error = r.error,
  receipt_retry_count = r.retry_count,
  receipt_previous_hash = r.previous_hash,
  receipt_hash = r.receipt_hash
FROM receipts AS r
WHERE events.item_id IS NOT NULL
  AND r.item_id = events.item_id
  AND r.seq = coalesce(json_extract(events.data, '$.patch.receiptSeq'),
                       json_extract(events.data, '$.item.receiptSeq'));

CREATE TEMP TABLE migration_0006_check (
  moved INTEGER CONSTRAINT every_receipt_moved_to_its_event CHECK (moved = 1)
);
INSERT INTO migration_0006_check
  SELECT (SELECT count(*) FROM receipts) = (SELECT count(*) FROM events WHERE receipt_seq IS NOT NULL);
DROP TABLE migration_0006_check;

DROP TABLE receipts;
