/**
 * Reading a native stream's slot (a Float64Array the native media thread writes under a sequence
 * lock: its field 0 is odd while the thread writes, and moves with every write), for the sender's
 * slots (native-media.ts) and the received streams' counts (native-counts.ts) alike.
 */

/** Copies `slot` as of one moment into `into` (a new array when not given), retried while the thread writes it. */
export function copySlot(slot: Float64Array, into = new Float64Array(slot.length)): Float64Array {
  for (;;) {
    const before = slot[0] ?? 0;
    if (before % 2 === 1) continue;
    into.set(slot);
    if ((slot[0] ?? 0) === before) return into;
  }
}

/**
 * Fields `a` and `b` of `slot` as of one moment, written into `into` (0 and 1): a reading of two
 * fields with no copy of the rest, for a check that runs often (header-only.ts folds a stream's
 * packet and byte counts four times a second).
 */
export function twoFields(slot: Float64Array, a: number, b: number, into: Float64Array): Float64Array {
  for (;;) {
    const before = slot[0] ?? 0;
    if (before % 2 === 1) continue;
    into[0] = slot[a] ?? 0;
    into[1] = slot[b] ?? 0;
    if ((slot[0] ?? 0) === before) return into;
  }
}

/** This JavaScript turn's copies of slots, cleared when the turn ends. */
const turnCopies = new Map<Float64Array, Float64Array>();

/**
 * `slot` as of one moment for the rest of this JavaScript turn: every field werift reads for one
 * report (a sender's counts and times, a receiver's loss and jitter) is of the same packet. Not
 * for a reading after the thread was told to stop (copySlot, or forgetTurn first).
 */
export function turnCopy(slot: Float64Array): Float64Array {
  const kept = turnCopies.get(slot);
  if (kept !== undefined) return kept;
  const copy = copySlot(slot);
  if (turnCopies.size === 0)
    queueMicrotask(() => {
      turnCopies.clear();
    });
  turnCopies.set(slot, copy);
  return copy;
}

/** Drops this turn's copy of `slot`: the thread wrote since (a release waited for its tick), and that counts. */
export function forgetTurn(slot: Float64Array): void {
  turnCopies.delete(slot);
}
