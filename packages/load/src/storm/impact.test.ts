import { describe, expect, it } from "vitest";
import { Measurements } from "@livekit-swarm/gate";
import { inboundTrack, windowSample } from "@livekit-swarm/test-kit";
import { impactSection, stormImpact } from "./impact.js";

const T0 = Date.parse("2026-11-23T13:00:00Z");
const windows = {
  before: [T0, T0 + 10_000],
  during: [T0 + 10_000, T0 + 20_000],
  after: [T0 + 20_000, T0 + 30_000],
} as const;

/** One audio track's window at `t` with `lost` of 100 packets lost and the given jitter. */
function window(m: Measurements, t: number, lost: number, jitterS: number): void {
  m.onSample(
    windowSample({
      t,
      room: "r0",
      participant: "s0",
      inbound: [inboundTrack({ key: "a", kind: "audio", expected: 100, lost, jitterS })],
    }),
  );
}

describe("stormImpact", () => {
  it("puts each window's media figures in its part of the hold, the storm's bounds included", () => {
    const m = new Measurements();
    // the storm's windows are cuts, made as the run reaches them (session, stormBeside)
    for (const at of [T0, T0 + 10_000, T0 + 20_000, T0 + 30_000]) m.cut(at);
    window(m, T0 + 5_000, 0, 0.002);
    window(m, T0 + 10_000, 10, 0.03); // at the storm's start: during
    window(m, T0 + 15_000, 20, 0.04);
    window(m, T0 + 20_000, 1, 0.003); // at its end: after
    m.onEvent(
      { t: T0 + 12_000, room: "r0", participant: "s0", role: "subscriber", worker: 0 },
      { type: "reconnecting" },
    );
    const rows = stormImpact(m, windows);
    const row = (figure: string) => rows.find((r) => r.figure === figure);
    expect(row("loss p95")).toMatchObject({ before: 0, during: 0.2, after: 0.01 });
    expect(row("jitter p95")).toMatchObject({ before: 0.002, during: 0.04, after: 0.003 });
    expect(row("reconnects")).toMatchObject({ before: 0, during: 1, after: 0 });
    expect(row("round-trip time p95"), "nothing observed: no row").toBeUndefined();
    const md = impactSection(rows, windows);
    expect(md).toContain("| loss p95 | 0.00 % | 20.00 % | 1.00 % |");
    expect(md).toContain("| jitter p95 | 2.0 ms | 40.0 ms | 3.0 ms |");
    expect(md).toContain("before the storm (10.0 s), during it (10.0 s) and after it (10.0 s)");
  });
});
