import { describe, expect, it } from "vitest";
import { inboundTrackSample } from "@livekit-swarm/schema";
import { Measurements } from "./measurements.js";

const sample = (participant: string, t: number, lost: number, jitterS: number, kind: "audio" | "video") => ({
  t,
  durationMs: 5000,
  room: "r",
  participant,
  role: "subscriber" as const,
  worker: 0,
  inbound: [
    inboundTrackSample({
      key: `${participant}-${kind}`,
      kind,
      expected: 100,
      lost,
      received: 100 - lost,
      bytes: 1000,
      jitterS,
    }),
  ],
  outbound: [],
  rttS: t / 1e9,
  dataSent: 0,
  dataReceived: 0,
});

describe("Measurements kept by column", () => {
  it("gives back every observation as it came, past many growths: values, labels, tracks, loss's sums", () => {
    const m = new Measurements();
    const jitters: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const jitter = (i % 97) / 1e4 + 1e-9 * i;
      jitters.push(jitter);
      m.onSample(sample(`p${i % 7}`, 1_000 + i, i % 3, jitter, i % 2 === 0 ? "audio" : "video"));
    }
    const windows = m.distribution("lkswarm_inbound_jitter_seconds", "windows");
    expect(windows.values).toEqual(jitters);
    expect(m.distribution("lkswarm_inbound_jitter_seconds", "windows", { where: { kind: "video" } }).n).toBe(
      2500,
    );
    expect(
      m.distribution("lkswarm_inbound_jitter_seconds", "windows", { fromMs: 1_000 + 4_990 }).values,
    ).toEqual(jitters.slice(4_990));
    // loss over tracks: a ratio of sums per track (p0-audio: i = 0, 14, 28, ... with lost i % 3)
    const tracks = m.distribution("lkswarm_inbound_loss_ratio", "tracks");
    expect(tracks.n).toBe(14);
    let lost = 0;
    let n = 0;
    for (let i = 0; i < 5000; i += 14) {
      lost += i % 3;
      n++;
    }
    expect(tracks.values[0]).toBeCloseTo(lost / (100 * n), 12);
    expect(m.labelValues("lkswarm_inbound_jitter_seconds", "kind")).toEqual(["audio", "video"]);
    expect(m.count("lkswarm_inbound_packets_lost_total")).toEqual({
      n: 5000,
      total: jitters.reduce((a, _, i) => a + (i % 3), 0),
    });
    // no track: each event is its own track-level member
    m.onEvent(
      { t: 1, room: "r", participant: "p0", role: "subscriber", worker: 0 },
      { type: "joined", joinS: 0.5 },
    );
    m.onEvent(
      { t: 2, room: "r", participant: "p0", role: "subscriber", worker: 0 },
      { type: "joined", joinS: 0.7 },
    );
    expect(m.distribution("lkswarm_join_duration_seconds", "tracks").values).toEqual([0.5, 0.7]);
    expect(m.distribution("lkswarm_join_duration_seconds", "participants").values).toEqual([0.7]);
  });
});
