import type { Kind } from "@livekit-swarm/schema";

export { inboundCounts, outboundCounts } from "@livekit-swarm/schema";

/** A window's counts over a participant's tracks of one kind; `tracks` is how many there were. */
export type Totals<F extends string> = Record<F, number> & { tracks: number };

/**
 * Sums one window's per-track counts by kind. The catalog has no per-track label, so the exporter
 * adds each kind's total once instead of once per track: a subscriber of nine publishers has 18
 * inbound tracks, and prom-client's label hashing is the exporter's main cost.
 */
export function totalsByKind<F extends string>(
  tracks: readonly ({ readonly kind: Kind } & Readonly<Record<F, number>>)[],
  fields: readonly F[],
): Record<Kind, Totals<F>> {
  const zero = (): Totals<F> => {
    const totals = { tracks: 0 } as Totals<F>;
    for (const field of fields) (totals as Record<F, number>)[field] = 0;
    return totals;
  };
  const byKind: Record<Kind, Totals<F>> = { audio: zero(), video: zero() };
  for (const track of tracks) {
    const totals = byKind[track.kind];
    totals.tracks += 1;
    for (const field of fields) (totals as Record<F, number>)[field] += count(track[field]);
  }
  return byKind;
}

/** A count from a sample; a negative, NaN or infinite one adds nothing. */
export function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
