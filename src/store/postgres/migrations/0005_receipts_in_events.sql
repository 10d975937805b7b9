-- 0005_receipts_in_events: the PostgreSQL twin of the SQLite migration of the same name.
-- Each transition's receipt moves into the row of the event that records the transition:
-- one row per transition instead of two (one INSERT fewer per settle, and no receipts
-- primary key to keep), and an item's receipt chain is its events that carry a receipt, in
-- log order (events_item already indexes them).
--
-- Every receipt is matched to its event by item and seq (a transition's event says its
-- receipt's seq in `patch.receiptSeq`, an enqueue in `item.receiptSeq`); the migration runs
-- in one transaction and raises, changing nothing, unless every receipt found its event.

ALTER TABLE events
  ADD COLUMN receipt_seq integer,
  ADD COLUMN receipt_id text,
  ADD COLUMN receipt_status text,
  ADD COLUMN receipt_timestamp text,
  ADD COLUMN receipt_executor_id text,
  ADD COLUMN receipt_progress double precision,
  ADD COLUMN receipt_output text,
  ADD COLUMN receipt_error text,
  ADD COLUMN receipt_retry_count integer,
  ADD COLUMN receipt_previous_hash text,
  ADD COLUMN receipt_hash text;

UPDATE events AS e SET
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
WHERE e.item_id IS NOT NULL
  AND r.item_id = e.item_id
  AND r.seq = coalesce((e.data::jsonb #>> '{patch,receiptSeq}')::integer,
                       (e.data::jsonb #>> '{item,receiptSeq}')::integer);

DO $$
BEGIN
  IF (SELECT count(*) FROM receipts) <> (SELECT count(*) FROM events WHERE receipt_seq IS NOT NULL) THEN
    RAISE EXCEPTION 'migration 0005_receipts_in_events: not every receipt has its event; nothing was changed';
  END IF;
END $$;

DROP TABLE receipts;
