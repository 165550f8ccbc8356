/**
 * The browser engine against a real LiveKit testbed: a browser publisher and a native publisher in
 * one room, each seen and heard by a subscriber of the other engine, latency read from the pattern's
 * stamp in both directions, a screenshot of the browser subscriber's page checked by its pixels,
 * and no Chromium process left when the participants leave.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHROMIUM } from "@livekit-swarm/browser";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { drawnPixels, readPng, waitFor } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";
import { BrowserEngine } from "../src/engine/browser.js";
import type { Engine, EngineParticipant } from "../src/engine/engine.js";
import { NativeEngine } from "../src/engine/native.js";
import type { EngineName } from "../src/run/messages.js";
import { mediaPlanFor } from "../src/run/plan.js";
import { joinMembers, leaveMembers, roomPlans, windowsOver, browserTestbed, type Member } from "./members.js";

const { isRoot, hasChromium, skipped } = browserTestbed;
const ROOM = "browser-engine";
const SCREENSHOT = "/tmp/lkswarm-browser-subscriber.png";

const plan = roomPlans(ROOM, true);

/** Chromium processes of this machine (the binary's path in their command line). */
function chromiumPids(): number[] {
  try {
    return execFileSync("pgrep", ["-f", DEFAULT_CHROMIUM], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The parent of `pid`, from /proc; 0 once it is gone. */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ")"
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The Chromium processes this test file's process started (its participants' browsers and their
 * children): other files running beside this one start Chromium too (browser-sigint.e2e, seen in a
 * CI run), and theirs are not ours to wait for.
 */
function ourChromiumPids(): number[] {
  return chromiumPids().filter((pid) => {
    let p = pid;
    for (let hops = 0; hops < 64 && p > 1; hops++) {
      if (p === process.pid) return true;
      p = parentOf(p);
    }
    return false;
  });
}

describe("browser participants beside native ones in one room", () => {
  let tb: Testbed | undefined;
  const engines = new Map<EngineName, Engine>();
  const members: Member[] = [];
  const member = (identity: string): Member => {
    const m = members.find((x) => x.plan.identity === identity);
    if (m === undefined) throw new Error(`no member ${identity}`);
    return m;
  };
  let chromiumBefore: number[] = [];

  beforeAll(async () => {
    if (!isRoot || !hasChromium) return;
    chromiumBefore = chromiumPids();
    tb = await Testbed.start({ name: `e2e-browser-${process.pid}`, netns: true });
    const media = mediaPlanFor(
      parseScenarioObject({ video: { resolution: "360p", fps: 15, simulcast: false } }, "browser test"),
    );
    engines.set("native", await NativeEngine.open(media));
    engines.set("browser", await BrowserEngine.open(media));
    await joinMembers(
      tb,
      engines,
      [
        plan("browser", "browser-pub", 0),
        plan("native", "native-pub", 1),
        plan("native", "native-sub", -1),
        plan("browser", "browser-sub", -1),
      ],
      members,
    );
  });

  afterAll(async () => {
    await leaveMembers(members, engines, tb);
  });

  it.skipIf(!isRoot || !hasChromium)(
    `each subscriber receives and decodes both publishers' audio and video, with latency from the stamps${skipped}`,
    async () => {
      // every first packet arrives within seconds on loopback once both browsers have published; 60 s
      // covers two Chromium starts and their first frames on a shared 2-core machine
      await waitFor(
        () =>
          members.every(
            (m) =>
              m.plan.role === "publisher" || m.events.filter((e) => e.type === "first-frame").length === 2,
          ),
        {
          timeoutMs: 60_000,
          debugName: () =>
            `two first frames per subscriber: ${members.map((m) => `${m.plan.identity} ${JSON.stringify(m.events)}`).join("; ")}`,
        },
      );
      const samples = await windowsOver(members, 10_000);
      for (const pub of ["browser-pub", "native-pub"]) {
        const s = samples.get(pub);
        const context = `${pub}: ${JSON.stringify(s)}`;
        // 10 s of 20 ms audio packets and 15 fps video, loosely: a shared machine delays timers
        expect(s?.outbound.find((o) => o.kind === "audio")?.packets, context).toBeGreaterThan(400);
        expect(s?.outbound.find((o) => o.kind === "video")?.packets, context).toBeGreaterThan(100);
        // libwebrtc in both says why it sends less than asked, or none
        expect(["none", "cpu", "bandwidth", "other"], context).toContain(
          s?.outbound.find((o) => o.kind === "video")?.qualityLimitation,
        );
      }
      for (const sub of ["native-sub", "browser-sub"]) {
        const s = samples.get(sub);
        const context = `${sub}: ${JSON.stringify(s)}`;
        const audio = s?.inbound.filter((w) => w.kind === "audio") ?? [];
        const video = s?.inbound.filter((w) => w.kind === "video") ?? [];
        expect(audio, context).toHaveLength(2);
        expect(video, context).toHaveLength(2);
        for (const w of audio) {
          expect(w.received, context).toBeGreaterThan(400);
          // heard: decoded samples, 48 kHz, most of the window
          expect(w.totalSamples, context).toBeGreaterThan(48_000 * 5);
        }
        for (const w of video) {
          expect(w.framesDecoded, context).toBeGreaterThan(50);
          // sent at 360p; a browser's encoder may scale down while its bandwidth estimate ramps up
          expect(w.height, context).toBeGreaterThan(0);
          expect(w.height, context).toBeLessThanOrEqual(360);
        }
        // both publishers stamp capture times: each stamp read is a latency. One publisher yields at
        // most a stamp per decoded frame, so more stamps than its frames means both directions were
        // read. Loopback keeps it well under a second, and it cannot be negative on one clock.
        const latency = s?.latencyS;
        expect(latency?.n, context).toBeGreaterThan(Math.max(...video.map((w) => w.framesDecoded)));
        expect(latency?.p50, context).toBeGreaterThan(0);
        expect(latency?.max, context).toBeLessThan(1);
      }
    },
    120_000,
  );

  it.skipIf(!isRoot || !hasChromium)(
    `the browser subscriber's page shows both publishers' video (pixels of the screenshot)${skipped}`,
    async () => {
      const sub = member("browser-sub").participant as EngineParticipant & {
        screenshot(path: `${string}.png`): Promise<void>;
      };
      await sub.screenshot(SCREENSHOT);
      console.log(`browser e2e: the subscriber's page is ${SCREENSHOT}`);
      const { width, height, rgba } = readPng(readFileSync(SCREENSHOT));
      // the page is #111 where nothing is drawn; each received video is a 320x180 box of the pattern:
      // a gradient (many grey levels) under a tint, the bar and the stamp's black and white blocks
      const { drawn, levels } = drawnPixels({ width, height, rgba }, [17, 17, 17]);
      const context = `${SCREENSHOT} ${width}x${height}: ${drawn} drawn pixels, ${levels} grey levels`;
      console.log(`browser e2e: ${context}`);
      expect(drawn, context).toBeGreaterThan(0.9 * 2 * 320 * 180);
      expect(levels, context).toBeGreaterThan(100);
    },
  );

  it.skipIf(!isRoot || !hasChromium)(
    `leaving ends every Chromium process the participants started${skipped}`,
    async () => {
      // the participants' browsers, while they run: ours, not another file's beside this one
      const ours = ourChromiumPids().filter((p) => !chromiumBefore.includes(p));
      expect(ours.length, "no Chromium process under this test's process").toBeGreaterThan(0);
      for (const m of members) await m.participant.leave();
      // Chromium's children exit as their browser goes (reparented if they outlive it, so
      // followed by pid); 10 s on a loaded machine
      const left = () => chromiumPids().filter((p) => ours.includes(p));
      await waitFor(() => left().length === 0, {
        timeoutMs: 10_000,
        debugName: () => `chromium processes left: ${left().join(" ")}`,
      });
    },
  );
});
