/**
 * @module claim-types
 * When a claim names its types, both backends read the claim-by-type index (migration
 * 0004) once per type, each read in claim order, and merge the reads: a worker for type X
 * then never walks past queued items of the types it does not take. Without a type list (a
 * worker that takes everything), or with more types than are worth a read each, they walk
 * the claim index in order as before.
 */

/** Up to this many (distinct) types a claim reads each type's run of the index. */
export const MAX_PER_TYPE_CLAIM = 32;

/**
 * The distinct types a claim reads one by one, or null when it walks the claim index
 * instead: any type (null), none at all (an empty list claims nothing either way), or more
 * than MAX_PER_TYPE_CLAIM.
 */
export function perTypeClaim(types: readonly string[] | null): string[] | null {
  if (types === null || types.length === 0) return null;
  const distinct = [...new Set(types)];
  return distinct.length <= MAX_PER_TYPE_CLAIM ? distinct : null;
}

/** Claim order: priority (highest first), then run time, then enqueue order. */
export function compareClaimOrder(
  a: { priority: number; run_at: number; seq: number },
  b: { priority: number; run_at: number; seq: number },
): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.seq - b.seq;
}
