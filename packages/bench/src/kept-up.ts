/** Figures a run reports about whether the generator kept up with its own plan. */
export interface KeptUpFigures {
  readonly joined: number;
  readonly expectedParticipants: number;
  /** Milliseconds the last join came after its scheduled time. */
  readonly joinLagMs: number;
  readonly tracksReceiving: number;
  readonly tracksExpected: number;
}

export type KeptUp = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Pure: did every participant join within the grace, and is every expected track receiving? */
export function keptUp(f: KeptUpFigures, joinGraceMs: number): KeptUp {
  if (f.joined < f.expectedParticipants)
    return { ok: false, reason: `${String(f.joined)}/${String(f.expectedParticipants)} participants joined` };
  if (f.joinLagMs > joinGraceMs)
    return {
      ok: false,
      reason: `joins lagged ${String(f.joinLagMs)} ms behind schedule (grace ${String(joinGraceMs)} ms)`,
    };
  if (f.tracksReceiving < f.tracksExpected)
    return { ok: false, reason: `${String(f.tracksReceiving)}/${String(f.tracksExpected)} tracks receiving` };
  return { ok: true };
}
