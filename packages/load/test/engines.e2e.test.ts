import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { waitFor } from "@livekit-swarm/test-kit";
import { PacketLoss, Testbed } from "@livekit-swarm/testbed";
import type { Engine } from "../src/engine/engine.js";
import { LeanEngine } from "../src/engine/lean.js";
import { NativeEngine } from "../src/engine/native.js";
import type { EngineName, WindowSample } from "../src/run/messages.js";
import { mediaPlanFor } from "../src/run/plan.js";
import { joinMembers, leaveMembers, roomPlans, type Member } from "./members.js";

const isRoot = process.getuid?.() === 0;
const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and nftables rules]";
const ROOM = "engines-side-by-side";
const SUBSCRIBERS = 4;
const DROP = 0.1;
/**
 * Two estimates of one drop differ by sqrt(2) times the error of each: for 1 point to be 3.5 standard
 * deviations of that difference, each engine needs 2 p(1-p) / (0.01/3.5)^2, about 22 000 expected
 * packets at 10%. Four subscribers of two 50 packets/s streams make 400 a second: 60 s gives 24 000.
 * (At 30 s, one run in two read native 9.58% and lean 10.89%: 12 000 packets were too few.)
 */
const DROP_WINDOW_MS = 60_000;
const MIN_EXPECTED = Math.ceil((2 * DROP * (1 - DROP)) / (0.01 / 3.5) ** 2);

const plan = roomPlans(ROOM, false);

/** Loss as a ratio of sums over the windows' inbound streams. */
function lossOf(samples: readonly WindowSample[]): { lost: number; expected: number; ratio: number } {
  let lost = 0;
  let expected = 0;
  for (const s of samples)
    for (const w of s.inbound) {
      lost += w.lost;
      expected += w.expected;
    }
  return { lost, expected, ratio: expected > 0 ? lost / expected : NaN };
}

describe("native and lean participants side by side in one room", () => {
  let tb: Testbed | undefined;
  const engines = new Map<EngineName, Engine>();
  const members: Member[] = [];
  const subscribers = (engine: EngineName): Member[] =>
    members.filter((m) => m.plan.engine === engine && m.plan.role === "subscriber");

  beforeAll(async () => {
    if (!isRoot) return;
    tb = await Testbed.start({ name: `e2e-engines-${process.pid}`, netns: true });
    const media = mediaPlanFor(parseScenarioObject({ "video-publishers": 0 }, "engines test"));
    engines.set("native", await NativeEngine.open(media));
    engines.set("lean", await LeanEngine.open(tb.url));
    const plans = [
      plan("native", "native-pub", 0),
      plan("lean", "lean-pub", 1),
      ...Array.from({ length: SUBSCRIBERS }, (_, i) => plan("native", `native-sub-${i + 1}`, -1)),
      ...Array.from({ length: SUBSCRIBERS }, (_, i) => plan("lean", `lean-sub-${i + 1}`, -1)),
    ];
    await joinMembers(tb, engines, plans, members);
  });

  afterAll(async () => {
    await leaveMembers(members, engines, tb);
  });

  it.skipIf(!isRoot)(
    `every subscriber receives both publishers; native subscribers decode the lean publisher's Opus${skipped}`,
    async () => {
      // the server subscribes each subscriber to both tracks within a second on loopback; 20 s
      // leaves room for a machine shared with other test runs
      await waitFor(
        async () =>
          Promise.resolve(
            members.every(
              (m) =>
                m.plan.role === "publisher" || m.events.filter((e) => e.type === "first-packet").length === 2,
            ),
          ),
        {
          timeoutMs: 20_000,
          debugName: () =>
            `two first packets per subscriber: ${members.map((m) => `${m.plan.identity} ${m.events.filter((e) => e.type === "first-packet").length}`).join(", ")}`,
        },
      );
      for (const m of members) await m.participant.sample(0);
      await delay(10_000);
      for (const m of members) {
        const sample = await m.participant.sample(0);
        const context = `${m.plan.identity}: ${JSON.stringify(sample)}`;
        expect(sample, context).toBeDefined();
        if (sample === undefined) continue;
        if (m.plan.role === "publisher") {
          // 10 s of 20 ms packets, loosely: a shared machine delays timers
          expect(sample.outbound.find((o) => o.kind === "audio")?.packets, context).toBeGreaterThan(400);
          continue;
        }
        expect(sample.inbound, context).toHaveLength(2);
        for (const w of sample.inbound) {
          expect(w.kind, context).toBe("audio");
          expect(w.received, context).toBeGreaterThan(400);
          expect(w.lost, context).toBe(0);
          // libwebrtc counts the samples it decoded; lean never decodes and says 0
          if (m.plan.engine === "native") expect(w.totalSamples, context).toBeGreaterThan(48_000 * 5);
          else expect(w.totalSamples, context).toBe(0);
        }
      }
      const failures = members.flatMap((m) =>
        m.events.filter((e) => e.type === "join-failed" || e.type === "disconnected"),
      );
      expect(failures).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!isRoot)(
    `under a ${DROP * 100}% drop of the node's outgoing UDP both engines read the same loss within 1 point${skipped}`,
    async () => {
      if (tb === undefined) throw new Error("the testbed did not start");
      const loss = PacketLoss.inject(tb.nodes[0]?.namespace, DROP, "egress");
      try {
        for (const m of members) await m.participant.sample(0);
        await delay(DROP_WINDOW_MS);
        const windows = new Map<EngineName, WindowSample[]>();
        for (const engine of ["native", "lean"] as const) {
          const samples: WindowSample[] = [];
          for (const m of subscribers(engine)) {
            const s = await m.participant.sample(0);
            if (s !== undefined) samples.push(s);
          }
          windows.set(engine, samples);
        }
        const native = lossOf(windows.get("native") ?? []);
        const lean = lossOf(windows.get("lean") ?? []);
        const dropped = loss.droppedPackets();
        console.log(
          `injected ${DROP * 100}%: native ${(native.ratio * 100).toFixed(2)}% (${native.lost} of ${native.expected}), ` +
            `lean ${(lean.ratio * 100).toFixed(2)}% (${lean.lost} of ${lean.expected}); nftables dropped ${dropped} UDP packets; ` +
            `1 point needs ${MIN_EXPECTED} per engine`,
        );
        for (const figure of [native, lean])
          expect(figure.expected, JSON.stringify({ native, lean })).toBeGreaterThanOrEqual(MIN_EXPECTED);
        expect(Math.abs(native.ratio - lean.ratio), JSON.stringify({ native, lean })).toBeLessThanOrEqual(
          0.01,
        );
        // both read the drop itself, not just each other
        for (const figure of [native, lean])
          expect(Math.abs(figure.ratio - DROP), JSON.stringify(figure)).toBeLessThanOrEqual(0.01);
      } finally {
        loss.remove();
      }
    },
    120_000,
  );
});
