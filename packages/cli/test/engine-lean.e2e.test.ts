import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "@livekit-swarm/load";
import type { WindowSample } from "@livekit-swarm/schema";
import { leftovers, swarm, testbedEnv } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";

/** summary.json: the aggregate's summary under the run's own record. */
type Summary = RunSummary & { readonly run: { readonly endReason: string; readonly workers: number } };

const summaryOf = (dir: string): Summary =>
  JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Summary;
const samplesOf = (dir: string): WindowSample[] =>
  readFileSync(join(dir, "samples.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as WindowSample);

/** A 12 s run of 2 rooms on `engine`, reports in a fresh folder. */
async function shortRun(
  tb: Testbed,
  engine: "lean" | "mixed" | "native",
  room: { readonly videoPublishers: number; readonly subscribers: number },
  extra: readonly string[] = [],
): Promise<{ r: Awaited<ReturnType<typeof swarm>>; out: string }> {
  const out = mkdtempSync(join(tmpdir(), `swarm-${engine}-`));
  const r = await swarm(
    [
      ...["--engine", engine, "--rooms", "2", "--duration", "12s", "--num-per-second", "10", "-o", out],
      ...["--video-publishers", String(room.videoPublishers), "--subscribers", String(room.subscribers)],
      ...extra,
    ],
    testbedEnv(tb),
  );
  return { r, out };
}

const ROOMS = 30;
const SUBSCRIBERS = 4;
const HOLD = "30s";

describe("swarm --engine lean and mixed against a real one-node LiveKit", () => {
  let tb: Testbed;

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-engine-lean-${process.pid}` });
  });
  afterAll(async () => {
    await tb.stop();
    expect(leftovers(tb.runDir)).toEqual([]);
  });

  it("refuses VP9 on the lean engine in one line naming the fix, starting nothing", async () => {
    const r = await swarm(["--engine", "lean", "--rooms", "1", "--video-codec", "vp9"], testbedEnv(tb));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "swarm: --engine lean: the lean engine sends vp8 or h264 video at 180p, 360p, 540p, 720p, 1080p (h264 up to 720p) up to 50 fps, not vp9 at 360p 20 fps: pass --video-codec vp8 --video-resolution 360p --video-fps 20, or --engine native\n",
    );
  });

  it("2 rooms of 1 video publisher + 2 subscribers on lean, one layer: every video track receives 360p at about 20 fps, no loss on loopback", async () => {
    const { r, out } = await shortRun(tb, "lean", { videoPublishers: 1, subscribers: 2 }, ["--no-simulcast"]);
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(out);
    const figure = (metric: string) => summary.figures.find((f) => f.metric === metric && f.kind === "video");
    const fps = figure("lkswarm_inbound_frames_decoded_total");
    const height = figure("lkswarm_inbound_frame_height_pixels");
    console.log(
      `lean video: tracks receiving ${summary.tracks.receiving.video}/${summary.tracks.expected.video}, frame rate p50 ${fps?.p50} min ${fps?.min}, ` +
        `height p50 ${height?.p50}, loss ${summary.loss.video.lost} of ${summary.loss.video.expected}`,
    );
    expect(summary.participants.joined).toBe(6);
    expect(summary.tracks.expected.video).toBe(4);
    expect(summary.tracks.receiving.video).toBe(4);
    // the loop is 20 fps; windows at the start and end of a track are partial
    expect(fps?.p50).toBeGreaterThan(15);
    expect(fps?.p50).toBeLessThan(25);
    expect(height).toMatchObject({ p50: 360, min: 360, max: 360 });
    expect(summary.loss.video.expected).toBeGreaterThan(4 * 50 * 8);
    expect(summary.loss.video.lost).toBe(0);
  });

  it(`${ROOMS} audio rooms of 1+${SUBSCRIBERS} on lean: everyone joins, every track flows, loss under 1%, and the gate, exporter and reports read lean samples`, async () => {
    const out = mkdtempSync(join(tmpdir(), "swarm-lean-"));
    const r = await swarm(
      [
        "--engine",
        "lean",
        "--rooms",
        String(ROOMS),
        "--video-publishers",
        "0",
        "--subscribers",
        String(SUBSCRIBERS),
        "--duration",
        HOLD,
        "--num-per-second",
        "10",
        "--threshold",
        "lkswarm_inbound_loss_ratio p95 over participants < 1%",
        "--metrics-port",
        "0",
        "-o",
        out,
      ],
      testbedEnv(tb),
      // 15 s of ramp and 30 s of hold; the rest is for a loaded machine's drain and reports
      240_000,
    );
    const summary = summaryOf(out);
    const planned = ROOMS * (1 + SUBSCRIBERS);
    const tracks = ROOMS * SUBSCRIBERS;
    console.log(
      `lean ${ROOMS} rooms: joined ${summary.participants.joined}/${planned}, audio tracks receiving ${summary.tracks.receiving.audio}/${tracks} ` +
        `(ever ${summary.tracks.everReceived.audio}), loss ${summary.loss.audio.lost} of ${summary.loss.audio.expected} expected (${((summary.loss.audio.ratio ?? NaN) * 100).toFixed(3)}%); ` +
        `workers' event loops ${JSON.stringify(summary.generator?.workers.map((w) => [w.meanEventLoop.toFixed(2), w.maxEventLoop.toFixed(2)]))}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("(lean engine)");
    expect(summary.run.endReason).toBe("completed");
    expect(summary.participants).toMatchObject({ planned, joined: planned, joinFailures: {} });
    expect(summary.tracks.expected.audio).toBe(tracks);
    expect(summary.tracks.receiving.audio).toBe(tracks);
    expect(summary.tracks.everReceived.audio).toBe(tracks);
    // 120 subscribers at 50 packets/s for at least the 30 s hold
    expect(summary.loss.audio.expected).toBeGreaterThan(tracks * 50 * 25);
    expect(summary.loss.audio.ratio).toBeLessThan(0.01);
    // each worker measured its own load over the hold (a 2 s window every stats interval), and none
    // was saturated: a saturated one would have failed the verdict (exit 99) above
    expect(summary.generator?.workers.length).toBe(summary.run.workers);
    for (const w of summary.generator?.workers ?? []) {
      expect(w.windows).toBeGreaterThan(3);
      expect(w.meanEventLoop).toBeGreaterThan(0);
      expect(w.saturated).toBe(false);
    }
    // every publisher's samples say what it sent
    const samples = samplesOf(out);
    const publishers = new Set(
      samples.filter((s) => (s.outbound[0]?.packets ?? 0) > 0).map((s) => `${s.room}/${s.participant}`),
    );
    expect(publishers.size).toBe(ROOMS);
    const metrics = readFileSync(join(out, "metrics.prom"), "utf8");
    expect(metrics).toMatch(/^lkswarm_inbound_packets_expected_total\{[^}]*kind="audio"[^}]*\} [1-9]\d*$/m);
    expect(readFileSync(join(out, "junit.xml"), "utf8")).toContain('failures="0"');
    expect(existsSync(join(out, "report.html"))).toBe(true);
  }, 260_000);

  it("mixed: the latency probe of each room is native and decodes the lean publisher; the bulk is lean", async () => {
    const { r, out } = await shortRun(tb, "mixed", { videoPublishers: 0, subscribers: 3 });
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(out);
    expect(summary.participants.joined).toBe(8);
    expect(summary.tracks.receiving.audio).toBe(6);
    const last = new Map<string, WindowSample[]>();
    for (const s of samplesOf(out))
      last.set(`${s.room}/${s.participant}`, [...(last.get(`${s.room}/${s.participant}`) ?? []), s]);
    for (const [who, windows] of last) {
      if (who.endsWith("pub-1")) continue;
      const received = windows.flatMap((w) => w.inbound).reduce((n, w) => n + w.received, 0);
      const decoded = windows.flatMap((w) => w.inbound).reduce((n, w) => n + w.totalSamples, 0);
      expect(received, who).toBeGreaterThan(0);
      // sub-1 is the probe on rtc-node: libwebrtc decodes; lean subscribers count packets only
      if (who.endsWith("sub-1")) expect(decoded, who).toBeGreaterThan(48_000 * 5);
      else expect(decoded, who).toBe(0);
    }
  });

  // mixed: each lean publisher's packets reach the native probe and the lean subscriber; native
  // beside it, the same count on rtc-node's publishData and DataReceived alone, so a difference
  // between the engines shows up as one
  it.each(["mixed", "native"] as const)(
    "%s with --data: each publisher's reliable user packets reach both subscribers of its room",
    async (engine) => {
      const { r, out } = await shortRun(tb, engine, { videoPublishers: 0, subscribers: 2 }, ["--data"]);
      expect(r.code, r.stderr).toBe(0);
      const byRoom = new Map<string, Map<string, { sent: number; received: number }>>();
      for (const s of samplesOf(out)) {
        const room = byRoom.get(s.room) ?? new Map<string, { sent: number; received: number }>();
        byRoom.set(s.room, room);
        const who = room.get(s.participant) ?? { sent: 0, received: 0 };
        room.set(s.participant, { sent: who.sent + s.dataSent, received: who.received + s.dataReceived });
      }
      console.log(
        `${engine} --data: ${JSON.stringify(Object.fromEntries([...byRoom].map(([k, v]) => [k, Object.fromEntries(v)])))}`,
      );
      expect(byRoom.size).toBe(2);
      for (const [room, who] of byRoom) {
        const sent = who.get("lkswarm-pub-1")?.sent ?? 0;
        // one a second over a 12 s hold: the first are refused until the channel opens
        expect(sent, room).toBeGreaterThanOrEqual(8);
        expect(sent, room).toBeLessThanOrEqual(14);
        // sub-1 is the native probe (rtc-node's DataReceived), sub-2 lean (data.ts) in mixed, native
        // in native; a reliable channel on loopback loses none, but a packet sent before a subscriber
        // joined, or after its last window, is not its to count
        for (const sub of ["lkswarm-sub-1", "lkswarm-sub-2"]) {
          const received = who.get(sub)?.received ?? 0;
          expect(received, `${room} ${sub}`).toBeGreaterThanOrEqual(sent - 2);
          expect(received, `${room} ${sub}`).toBeLessThanOrEqual(sent);
        }
      }
    },
  );

  it("mixed with video: the native probe decodes the lean publisher's loop but reads no latency from its loop-position stamp; lean subscribers time it by abs-capture-time", async () => {
    const { r, out } = await shortRun(tb, "mixed", { videoPublishers: 1, subscribers: 2 });
    expect(r.code, r.stderr).toBe(0);
    const summary = summaryOf(out);
    expect(summary.tracks.receiving.video).toBe(4);
    // the probes decode; lean counts frames from RTP, and the summary never calls that decoding
    expect(summary.tracks).toMatchObject({ decodingVideo: 2, assembledVideo: 2 });
    expect(r.stdout).toContain("2 decoding, 2 assembled by lean (not decoded)");
    expect(r.stdout).toContain(
      "lean subscribers' frame rate, height and freezes are read from RTP, not decoded",
    );
    const samples = samplesOf(out);
    const probe = samples.filter((s) => s.participant.endsWith("sub-1"));
    const lean = samples.filter((s) => s.participant.endsWith("sub-2"));
    const frames = (ss: WindowSample[]) =>
      ss.flatMap((s) => s.inbound).reduce((n, w) => n + (w.kind === "video" ? w.framesDecoded : 0), 0);
    console.log(
      `mixed video: probe frames ${frames(probe)}, probe latency windows ${probe.filter((s) => s.latencyS !== undefined).length}, ` +
        `lean latency p50s ${lean.flatMap((s) => (s.latencyS !== undefined ? [s.latencyS.p50] : [])).join(" ")}`,
    );
    expect(frames(probe)).toBeGreaterThan(2 * 20 * 5);
    expect(probe.filter((s) => s.latencyS !== undefined)).toEqual([]);
    // lean subscribers read abs-capture-time: the same machine's clock, so under a second on loopback
    const leanLatencies = lean.flatMap((s) => (s.latencyS !== undefined ? [s.latencyS.p50] : []));
    expect(leanLatencies.length).toBeGreaterThan(0);
    for (const l of leanLatencies) expect(l).toBeLessThan(1);
    // each probe's first video packet no later than its exact first frame (a frame implies a packet)
    const firsts = readFileSync(join(out, "events.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"first-') && l.includes("sub-1"))
      .map(
        (l) =>
          JSON.parse(l) as { room: string; event: { type: string; kind: string; afterJoinStartS: number } },
      )
      .filter((e) => e.event.kind === "video");
    for (const room of new Set(firsts.map((e) => e.room))) {
      const at = (type: string) =>
        firsts.find((e) => e.room === room && e.event.type === type)?.event.afterJoinStartS;
      expect(at("first-packet"), room).toBeLessThanOrEqual(at("first-frame") ?? -1);
    }
    expect(new Set(firsts.map((e) => e.room)).size).toBe(2);
  });
});
