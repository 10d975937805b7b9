-- 0004_claim_by_type: claim order within one type. A worker that handles only some types
-- reads, for each of them, the start of that type's run of this index (already in claim
-- order) and merges the runs, instead of walking items_claim past every queued item of the
-- types it does not take. Only queued rows are in it, like items_claim.

CREATE INDEX items_claim_type ON items (type, priority DESC, run_at, seq) WHERE status = 'queued';
