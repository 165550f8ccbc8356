/**
 * Browser probes beside a lean bulk, under a random drop on the path both share: each engine must
 * read the injected drop, and the two must agree (docs/browser-engine.md, "Probes beside the bulk").
 * The same run saves the probes' pages (--screenshots), checked by their pixels, and its
 * report.html is opened in Chromium and checked by the pixels of its plots and screenshots.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch } from "puppeteer-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  drawnPixels,
  expectCodeOrCrowded,
  isRoot,
  netnsTestbed,
  readPng,
  swarm,
  testbedEnv,
} from "@livekit-swarm/test-kit";
import { PacketLoss } from "@livekit-swarm/testbed";

// the binary the browser engine launches (packages/browser DEFAULT_CHROMIUM), installed by scripts/setup
const CHROMIUM = "/usr/lib/chromium/chromium";
const hasChromium = existsSync(CHROMIUM);
const skipped =
  isRoot && hasChromium
    ? ""
    : ` [SKIPPED: needs root (network namespaces, nftables) and ${CHROMIUM} (scripts/setup)]`;

type LossCount = { lost: number; expected: number };
interface Group {
  name: string;
  participants: number;
  joined: number;
  lossRatio: number;
  lossByKind: Record<"audio" | "video", LossCount>;
}
interface Summary {
  participants: { joined: number };
  groups: { engines: Group[]; transports: Group[] };
  screenshots?: string[];
}

/**
 * One room: a lean publisher (audio and 360p video), 6 lean subscribers and 2 browser probes, so at
 * most 2 Chromiums on this 2-core machine. The drop is on the node's outgoing UDP, so it hits what
 * every subscriber receives (retransmissions too) and nothing the publisher sends. 60 s gives the
 * two browser probes some 12 000 originals and the lean subscribers some 38 000.
 *
 * Each engine sees its own random share of the drop, so the bounds are the sampling error's, not a
 * fixed point: each engine's ratio per kind within `SIGMAS` binomial standard deviations of the
 * drop nftables really made of that kind (the rule tallies RTP by payload type, as in
 * fidelity.e2e), and the two engines' ratios within `SIGMAS` of the binomial difference (about 1.2
 * points at these sizes). A fixed 1 point, about 3 standard deviations here, failed one
 * clean-clone run in 13 (browser 10.73%, lean 9.68%; the other 12 within 0.34 point).
 */
const DROP = 0.1;
const SUBSCRIBERS = 8;
const BROWSER_PROBES = 2;
const SIGMAS = 4;
/** LiveKit's payload types toward subscribers (protocol/codecs): Opus and RED, VP8, VP8's RTX */
const RTP_KINDS = { audio: [111, 63], video: [96], rtx: [97] };
/** A binomial ratio's standard deviation at `p` over `n` trials. */
const sigma = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

const ratio = (c: LossCount): number => (c.expected > 0 ? c.lost / c.expected : Number.NaN);
const total = (g: Group): LossCount => ({
  lost: g.lossByKind.audio.lost + g.lossByKind.video.lost,
  expected: g.lossByKind.audio.expected + g.lossByKind.video.expected,
});
const describeGroup = (g: Group): string =>
  `${g.name}: ${g.joined}/${g.participants} joined, ` +
  (["audio", "video"] as const)
    .map((k) => {
      const c = g.lossByKind[k];
      return `${k} ${(ratio(c) * 100).toFixed(2)}% (${c.lost} of ${c.expected})`;
    })
    .join(", ") +
  `, both ${(g.lossRatio * 100).toFixed(2)}%`;

describe("browser probes beside a lean bulk, under a drop, with --screenshots", () => {
  const testbed = netnsTestbed("probes");
  const out = mkdtempSync(join(tmpdir(), "swarm-probes-"));
  let run:
    | {
        code: number | null;
        stdout: string;
        stderr: string;
        dropped: number;
        tally: ReturnType<PacketLoss["tally"]>;
      }
    | undefined;
  const ran = (): NonNullable<typeof run> => {
    if (run === undefined) throw new Error("the run did not happen");
    return run;
  };
  const summary = (): Summary => JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;

  beforeAll(async () => {
    if (!isRoot || !hasChromium) return;
    const tb = testbed();
    const loss = PacketLoss.inject(tb.nodes[0]?.namespace, DROP, "egress", undefined, { tally: RTP_KINDS });
    try {
      const result = await swarm(
        [
          "--engine",
          "lean",
          "--rooms",
          "1",
          "--subscribers",
          String(SUBSCRIBERS),
          "--browser-probes",
          String(BROWSER_PROBES),
          "--no-simulcast",
          "--duration",
          "60s",
          "--num-per-second",
          "5",
          "--screenshots",
          // a threshold that holds: report.md is written with a verdict
          "--threshold",
          "lkswarm_inbound_loss_ratio p95 over participants < 50%",
          "-o",
          out,
        ],
        testbedEnv(tb),
        // two Chromium starts, the 60 s hold, the screenshots and the report on a shared 2-core machine
        180_000,
      );
      run = { ...result, dropped: loss.droppedPackets(), tally: loss.tally() };
    } finally {
      loss.remove();
    }
  }, 240_000);

  it.skipIf(!isRoot || !hasChromium)(
    `under a ${DROP * 100}% drop of the node's outgoing UDP, each engine reads the drop nftables made and they agree, within sampling error${skipped}`,
    () => {
      const { stdout, dropped, tally } = ran();
      // or inconclusive because a neighbour crowded the machine (a clean-clone suite run,
      // 2026-11-29: exit 2); the loss each engine read is still held to the drop below
      expectCodeOrCrowded(ran(), 0, out);
      const engines = summary().groups.engines;
      // the figures the claim rests on, for whoever reads the log
      const made = (kind: "audio" | "video"): number => {
        const t = tally[kind];
        if (t?.ratio === undefined) throw new Error(`nftables saw no ${kind} RTP: ${JSON.stringify(tally)}`);
        return t.ratio;
      };
      console.log(
        `injected ${DROP * 100}%, nftables dropped ${dropped} UDP packets (audio ${(made("audio") * 100).toFixed(2)}%, ` +
          `video ${(made("video") * 100).toFixed(2)}% of RTP): ${engines.map(describeGroup).join("; ")}`,
      );
      // every browser probe joins; a lean subscriber's DTLS handshake over werift sometimes misses
      // its 15 s join timeout under this drop (1 of 7 in one of three runs: join-failed "timeout"),
      // which is lean's to fix, not this claim's: the lean row's originals are counted below
      expect(engines.map((g) => [g.name, g.participants]).sort()).toEqual([
        ["browser", BROWSER_PROBES],
        ["lean", 1 + SUBSCRIBERS - BROWSER_PROBES],
      ]);
      expect(engines.find((g) => g.name === "browser")?.joined).toBe(BROWSER_PROBES);
      expect(engines.find((g) => g.name === "lean")?.joined).toBeGreaterThanOrEqual(
        SUBSCRIBERS - BROWSER_PROBES,
      );
      // every joined participant, browser ones too, says which path it took: host UDP on loopback
      const joined = engines.reduce((n, g) => n + g.joined, 0);
      expect(summary().groups.transports.map((g) => [g.name, g.participants])).toEqual([["udp", joined]]);
      // the terminal and report.md show the same rows
      expect(stdout).toMatch(/^engine\s+participants\s+join p95/m);
      expect(stdout).toMatch(/^browser\s+2\s/m);
      expect(readFileSync(join(out, "report.md"), "utf8")).toContain("### Per engine");
      const [browser, lean] = ["browser", "lean"].map((name) => engines.find((g) => g.name === name));
      if (browser === undefined || lean === undefined) throw new Error("an engine row is missing");
      for (const g of [browser, lean]) {
        for (const kind of ["audio", "video"] as const) {
          const c = g.lossByKind[kind];
          expect(c.expected, `${g.name} ${kind} originals`).toBeGreaterThan(1000);
          // the engine reads the drop nftables made of this kind, within its own sample's error
          expect(Math.abs(ratio(c) - made(kind)), describeGroup(g)).toBeLessThanOrEqual(
            SIGMAS * sigma(made(kind), c.expected),
          );
        }
      }
      // and the two agree: their difference within the error of two independent samples
      const b = total(browser);
      const l = total(lean);
      const bound = SIGMAS * Math.sqrt(DROP * (1 - DROP) * (1 / b.expected + 1 / l.expected));
      expect(bound, "samples large enough to tell 2 points apart").toBeLessThan(0.02);
      expect(
        Math.abs(ratio(b) - ratio(l)),
        `${describeGroup(browser)} vs ${describeGroup(lean)}: bound ${(bound * 100).toFixed(2)} points`,
      ).toBeLessThanOrEqual(bound);
    },
  );

  it.skipIf(!isRoot || !hasChromium)(
    `--screenshots saves each browser probe's page, showing the publisher's pattern, listed in the reports${skipped}`,
    () => {
      const shots = summary().screenshots ?? [];
      // the room is named after the run (lkswarm-<run id>-1); the probes are the room's last subscribers
      expect(shots).toHaveLength(BROWSER_PROBES);
      expect(shots[0]).toMatch(/^screenshots\/lkswarm-[\w-]+-1--lkswarm-sub-7\.png$/);
      expect(shots[1]).toMatch(/^screenshots\/lkswarm-[\w-]+-1--lkswarm-sub-8\.png$/);
      const md = readFileSync(join(out, "report.md"), "utf8");
      for (const shot of shots) {
        expect(md).toContain(`[${shot}](${shot})`);
        const file = join(out, shot);
        const { width, height, rgba } = readPng(readFileSync(file));
        // the page is #111 where nothing is drawn; the one received video is a 320x180 box of the
        // pattern: a gradient (many grey levels) under a tint, the bar and the stamp's blocks
        const { drawn, levels } = drawnPixels({ width, height, rgba }, [17, 17, 17]);
        const context = `${shot} ${width}x${height}: ${drawn} drawn pixels, ${levels} grey levels`;
        console.log(`probes e2e: ${context}`);
        copyFileSync(file, join(tmpdir(), `lkswarm-probe-${shot.split("/").pop() ?? "page.png"}`));
        expect(drawn, context).toBeGreaterThan(0.9 * 320 * 180);
        expect(levels, context).toBeGreaterThan(100);
      }
    },
  );

  it.skipIf(!isRoot || !hasChromium)(
    `report.html in Chromium draws its plots and shows the screenshots (pixels)${skipped}`,
    async () => {
      // --no-sandbox: Chromium refuses to sandbox as root; no GPU here; the page is offline (file://)
      const browser = await launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars"],
      });
      try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1280, height: 900 });
        await page.goto(pathToFileURL(join(out, "report.html")).href, { waitUntil: "load" });
        const whole = join(tmpdir(), "lkswarm-probes-report.png");
        await page.screenshot({ path: whole, fullPage: true });
        console.log(`probes e2e: report.html is ${whole}`);
        // a plot is the white figure with coloured series lines; axes, grid and text are grey
        for (const id of ["loss", "participants"]) {
          const figure = await page.waitForSelector(`figure:has([data-chart="${id}"] canvas)`);
          const png = Buffer.from((await figure?.screenshot()) ?? []);
          const shown = drawnPixels(readPng(png), [255, 255, 255]);
          const context = `chart ${id}: ${JSON.stringify(shown)}`;
          console.log(`probes e2e: ${context}`);
          expect(shown.coloured, context).toBeGreaterThan(200);
        }
        const img = await page.waitForSelector(`img[src="${summary().screenshots?.[0] ?? "none"}"]`);
        await img?.scrollIntoView();
        const shown = drawnPixels(readPng(Buffer.from((await img?.screenshot()) ?? [])), [17, 17, 17]);
        expect(
          shown.levels,
          `the screenshot as report.html shows it: ${JSON.stringify(shown)}`,
        ).toBeGreaterThan(100);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
