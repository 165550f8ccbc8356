/**
 * Several browser participants sharing Chromium, against a real LiveKit testbed: four in one page
 * (four livekit-client Rooms in one renderer: a publisher of audio and 180p video, three probes)
 * and four in one browser (four pages: an audio publisher, three subscribers). Each joins and
 * receives, each probe reads its own stamps, a crashed page disconnects everyone in it with
 * `page_crashed`, a killed browser everyone in its pages with `browser_exited`, and no Chromium
 * process is left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { chromiumBrowsers, descendants, processGroup as group, waitFor } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";
import { BrowserEngine, BrowserParticipant } from "../src/engine/browser.js";
import type { Engine } from "../src/engine/engine.js";
import type { EngineName, ParticipantPlan } from "../src/run/messages.js";
import { mediaPlanFor } from "../src/run/plan.js";
import { joinMembers, leaveMembers, windowsOver, browserTestbed, type Member } from "./members.js";

const { isRoot, hasChromium, skipped } = browserTestbed;

/** A room of one publisher and three subscribers that receive it (probes when there is video). */
function roomOf(room: string, video: boolean): ParticipantPlan[] {
  const base = { engine: "browser" as const, room, joinAtMs: 0 };
  return [
    {
      ...base,
      identity: `${room}-pub`,
      role: "publisher",
      publishAudio: true,
      publishVideo: video,
      publisherIndex: 0,
      subscribe: false,
      probe: false,
      expectedTracks: { audio: 0, video: 0 },
    },
    ...[1, 2, 3].map((i): ParticipantPlan => ({
      ...base,
      identity: `${room}-sub-${i}`,
      role: "subscriber",
      publishAudio: false,
      publishVideo: false,
      publisherIndex: -1,
      subscribe: true,
      probe: video,
      expectedTracks: { audio: 1, video: video ? 1 : 0 },
    })),
  ];
}

/** Chromium browser processes (not their children) this test process started. */
function ourBrowsers(): number[] {
  return chromiumBrowsers(descendants(process.pid)).map((p) => p.pid);
}

/** Waits (15 s: a loaded machine) until each member is disconnected, then checks: once, for `reason`. */
async function expectDisconnectedOnce(members: readonly Member[], reason: string): Promise<void> {
  await waitFor(() => members.every((m) => m.events.some((e) => e.type === "disconnected")), {
    timeoutMs: 15_000,
    debugName: () => members.map((m) => `${m.plan.identity} ${JSON.stringify(m.events.at(-1))}`).join("; "),
  });
  for (const m of members)
    expect(
      m.events.filter((e) => e.type === "disconnected"),
      m.plan.identity,
    ).toEqual([{ type: "disconnected", reason }]);
}

function placed(m: Member): NonNullable<BrowserParticipant["placedIn"]> {
  const page = m.participant instanceof BrowserParticipant ? m.participant.placedIn : undefined;
  if (page === undefined) throw new Error(`${m.plan.identity} was not placed in a browser`);
  return page;
}

describe("browser participants sharing a page or a browser", () => {
  let tb: Testbed | undefined;
  const onePage: Member[] = [];
  const oneBrowser: Member[] = [];
  const pageEngine = new Map<EngineName, Engine>();
  const tabsEngine = new Map<EngineName, Engine>();

  beforeAll(async () => {
    if (!isRoot || !hasChromium) return;
    tb = await Testbed.start({ name: `e2e-blayout-${process.pid}`, netns: true });
    const media = (layout: Record<string, number>) =>
      mediaPlanFor(
        parseScenarioObject(
          { engine: "browser", video: { resolution: "180p", fps: 15, simulcast: false }, ...layout },
          "browser layout test",
        ),
      );
    pageEngine.set("browser", await BrowserEngine.open(media({ "participants-per-page": 4 })));
    tabsEngine.set("browser", await BrowserEngine.open(media({ "pages-per-browser": 4 })));
    await joinMembers(tb, pageEngine, roomOf("page", true), onePage);
    await joinMembers(tb, tabsEngine, roomOf("tabs", false), oneBrowser);
  });

  afterAll(async () => {
    await Promise.allSettled([...onePage, ...oneBrowser].map((m) => m.participant.leave()));
    await Promise.allSettled([...pageEngine.values(), ...tabsEngine.values()].map((e) => e.close()));
    await leaveMembers([], new Map(), tb);
  });

  it.skipIf(!isRoot || !hasChromium)(
    `four in one page share one page of one browser; four in one browser have a page each${skipped}`,
    () => {
      const browsers = ourBrowsers();
      // two browsers for eight participants: one per engine, each holding its four
      expect(browsers, `browser processes: ${browsers.join(" ")}`).toHaveLength(2);
      const pagePids = new Set(onePage.map((m) => placed(m).pid));
      const tabsPids = new Set(oneBrowser.map((m) => placed(m).pid));
      expect(pagePids.size).toBe(1);
      expect(tabsPids.size).toBe(1);
      expect([...pagePids, ...tabsPids].sort()).toEqual([...browsers].sort());
      expect(new Set(onePage.map((m) => placed(m).page)).size).toBe(1);
      expect(new Set(onePage.map((m) => placed(m).slot))).toEqual(new Set([0, 1, 2, 3]));
      expect(new Set(oneBrowser.map((m) => placed(m).page)).size).toBe(4);
    },
  );

  it.skipIf(!isRoot || !hasChromium)(
    `each participant samples its own media: sent, received, decoded, and each probe's own stamps${skipped}`,
    async () => {
      const all = [...onePage, ...oneBrowser];
      // first packets arrive within seconds on loopback once the publishers published; 60 s covers two
      // Chromium starts and eight joins on a shared 2-core machine
      await waitFor(
        () =>
          all.every(
            (m) =>
              m.plan.role === "publisher" ||
              m.events.filter((e) => e.type === "first-packet").length ===
                m.plan.expectedTracks.audio + m.plan.expectedTracks.video,
          ),
        {
          timeoutMs: 60_000,
          debugName: () => all.map((m) => `${m.plan.identity} ${JSON.stringify(m.events)}`).join("; "),
        },
      );
      const samples = await windowsOver(all, 10_000);
      for (const pub of ["page-pub", "tabs-pub"]) {
        const s = samples.get(pub);
        const context = `${pub}: ${JSON.stringify(s)}`;
        // 10 s of 20 ms packets is 500: the tone made in the page goes out as a microphone's would
        expect(s?.outbound.find((o) => o.kind === "audio")?.packets, context).toBeGreaterThan(400);
        if (pub === "page-pub")
          expect(s?.outbound.find((o) => o.kind === "video")?.packets, context).toBeGreaterThan(100);
      }
      for (const m of all.filter((x) => x.plan.role === "subscriber")) {
        const s = samples.get(m.plan.identity);
        const context = `${m.plan.identity}: ${JSON.stringify(s)}`;
        const audio = s?.inbound.filter((w) => w.kind === "audio") ?? [];
        const video = s?.inbound.filter((w) => w.kind === "video") ?? [];
        expect(audio, context).toHaveLength(1);
        expect(video, context).toHaveLength(m.plan.expectedTracks.video);
        for (const w of audio) {
          expect(w.received, context).toBeGreaterThan(400);
          // heard: decoded samples, 48 kHz, most of the window
          expect(w.totalSamples, context).toBeGreaterThan(48_000 * 5);
        }
        for (const w of video) {
          // 15 fps for 10 s is 150 frames
          expect(w.framesDecoded, context).toBeGreaterThan(50);
          // each probe in the shared page reads its own video element's stamps: at most one per
          // frame it decoded, and on one clock over loopback well under a second
          const latency = s?.latencyS;
          expect(latency?.n, context).toBeGreaterThan(0);
          expect(latency?.n, context).toBeLessThanOrEqual(w.framesDecoded + 15);
          expect(latency?.p50, context).toBeGreaterThan(0);
          expect(latency?.max, context).toBeLessThan(1);
        }
      }
    },
    120_000,
  );

  it.skipIf(!isRoot || !hasChromium)(
    `a crashed shared page disconnects each of its participants with page_crashed, and its browser ends${skipped}`,
    async () => {
      const page = placed(onePage[0] as Member);
      const pid = page.pid ?? -1;
      expect(group(pid).length).toBeGreaterThan(1);
      // chrome://crash kills the renderer, as an out-of-memory or a renderer bug would
      await page.page.goto("chrome://crash").catch(() => undefined);
      // the crash is reported at once; the browser's close is bounded at 5 s, then SIGKILL
      await expectDisconnectedOnce(onePage, "page_crashed");
      await waitFor(() => group(pid).length === 0, {
        timeoutMs: 15_000,
        debugName: () => `Chromium processes left in group ${pid}: ${group(pid).join(" ")}`,
      });
      // the other browser's participants were not touched
      for (const m of oneBrowser)
        expect(
          m.events.some((e) => e.type === "disconnected"),
          m.plan.identity,
        ).toBe(false);
    },
  );

  it.skipIf(!isRoot || !hasChromium)(
    `a browser killed under its pages disconnects each of their participants with browser_exited${skipped}`,
    async () => {
      const pid = placed(oneBrowser[0] as Member).pid ?? -1;
      process.kill(pid, "SIGKILL");
      // the pipe closes at once; 15 s for the events and the group on a loaded machine
      await expectDisconnectedOnce(oneBrowser, "browser_exited");
      await waitFor(() => group(pid).length === 0 && ourBrowsers().length === 0, {
        timeoutMs: 15_000,
        debugName: () => `left: group ${pid}: ${group(pid).join(" ")}; browsers ${ourBrowsers().join(" ")}`,
      });
    },
  );
});
