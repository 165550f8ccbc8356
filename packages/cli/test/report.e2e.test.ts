/**
 * report.html as a reader sees it: a clean run, a run under nftables loss gated against the clean
 * one, and a node-kill drill, each opened in Debian's Chromium (headless, driven by puppeteer-core,
 * no browser download). The test hovers a chart (a value appears in its legend), drags a zoom,
 * reads the verdict banner and the per-room table, and saves screenshots it prints the folder of.
 * One 3-node testbed with a network namespace per node serves all three (root).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launch, type Browser, type Page } from "puppeteer-core";
import { PacketLoss, Testbed, faultTables } from "@livekit-swarm/testbed";
import { drillWorkload, startSwarm, swarm, testbedEnv, waitFor, writeDrill } from "@livekit-swarm/test-kit";

const CHROMIUM = "/usr/bin/chromium";
/**
 * --no-sandbox: Chromium refuses to sandbox as root, and the testbed's namespaces need root.
 * --disable-dev-shm-usage: /dev/shm is small in containers; --disable-gpu: no GPU here.
 * --font-render-hinting=none and --hide-scrollbars: the same pixels from one machine to the next.
 */
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-dev-shm-usage",
  "--disable-gpu",
  "--no-first-run",
  "--hide-scrollbars",
  "--font-render-hinting=none",
];

const isRoot = process.getuid?.() === 0;
const canRun = isRoot && existsSync(CHROMIUM);
const skipped = canRun
  ? ""
  : " [SKIPPED: needs root (network namespaces) and /usr/bin/chromium (scripts/setup)]";

const WORKLOAD = [
  "--rooms",
  "3",
  "--audio-publishers",
  "1",
  "--video-publishers",
  "1",
  "--video-resolution",
  "180p",
  "--no-simulcast",
  "--subscribers",
  "2",
  "--latency-probes",
  "1",
  "--num-per-second",
  "10",
  "--stats-interval",
  "1s",
  "--duration",
  "12s",
];

interface Chart {
  /** Legend values after hovering the middle of the plot. */
  readonly legend: readonly string[];
  readonly zoomed: { readonly before: number; readonly after: number };
}

/**
 * Hovers then drags across the middle of a chart; the legend and the x range say what happened.
 * Saves the zoomed chart as `<shot>-zoomed.png`, then zooms out (double-click) and hovers again.
 */
async function hoverAndZoom(page: Page, id: string, shot: string): Promise<Chart> {
  const over = await page.waitForSelector(`[data-chart="${id}"] .u-over`);
  // mouse coordinates are the viewport's: the chart must be in it (a click elsewhere may have scrolled)
  await over?.scrollIntoView();
  const box = await over?.boundingBox();
  if (box == null) throw new Error(`chart ${id} has no plot area`);
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.55, y);
  const legend = await texts(page, `[data-chart="${id}"] .u-legend .u-value`);
  const range = async (): Promise<number> => {
    const [min] = await attributes(page, `[data-chart="${id}"]`, "data-x-min");
    const [max] = await attributes(page, `[data-chart="${id}"]`, "data-x-max");
    return Number(max) - Number(min);
  };
  const before = await range();
  await page.mouse.move(box.x + box.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, y, { steps: 8 });
  await page.mouse.up();
  const after = await range();
  const figure = await page.$(`figure:has([data-chart="${id}"])`);
  await figure?.screenshot({ path: `${shot}-zoomed.png` });
  await page.mouse.click(box.x + box.width * 0.55, y, { count: 2 });
  // back where it was hovered (by way of elsewhere: a move to where the mouse is fires nothing),
  // so the page's screenshot shows a value in the legend
  await page.mouse.move(box.x + box.width * 0.7, y);
  await page.mouse.move(box.x + box.width * 0.55, y, { steps: 4 });
  return { legend, zoomed: { before, after } };
}

async function open(browser: Browser, file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.setViewport({ width: 1280, height: 900 });
  // file:// and nothing else: the page must open offline, uPlot inlined
  await page.setRequestInterception(true);
  page.on("request", (r) => void (r.url().startsWith("file:") ? r.continue() : r.abort()));
  await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  return { page, errors };
}

/**
 * What the page shows, read in the page. The scripts are strings: this package compiles without
 * the DOM's types, and the answer is checked rather than trusted.
 */
async function inPage(page: Page, selector: string, read: string): Promise<string[]> {
  const found: unknown = await page.evaluate(
    `Array.from(document.querySelectorAll(${JSON.stringify(selector)})).map((e) => String(${read}))`,
  );
  if (!Array.isArray(found) || !found.every((v): v is string => typeof v === "string"))
    throw new Error(`${selector}: the page answered ${JSON.stringify(found)}`);
  return found;
}
const texts = (page: Page, selector: string): Promise<string[]> =>
  inPage(page, selector, "e.textContent.trim()");
const attributes = (page: Page, selector: string, name: string): Promise<string[]> =>
  inPage(page, selector, `e.getAttribute(${JSON.stringify(name)})`);
async function text(page: Page, selector: string): Promise<string> {
  const [first] = await texts(page, selector);
  if (first === undefined) throw new Error(`nothing matches ${selector}`);
  return first;
}

describe("report.html in Chromium", () => {
  let tb: Testbed | undefined;
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), "swarm-report-"));
  const clean = join(dir, "clean");
  const shots = join(dir, "screenshots");
  const env = (): NodeJS.ProcessEnv => (tb === undefined ? {} : testbedEnv(tb));
  /** The workload again, gated on loss against the clean run: +0.5 points of loss at the most. */
  const againstClean = (out: string): string[] => [
    ...WORKLOAD,
    "--baseline",
    clean,
    "--threshold",
    "lkswarm_inbound_loss_ratio p95 <= baseline + 0.5pt",
    "-o",
    out,
  ];

  beforeAll(async () => {
    if (!canRun) return;
    tb = await Testbed.start({ name: `e2e-report-${process.pid}`, nodes: 3, netns: true });
    browser = await launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    mkdirSync(shots, { recursive: true });
    console.log(`report e2e: screenshots in ${shots}`);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await tb?.stop();
  });

  it.skipIf(!canRun)(
    `a clean run: PASS banner, a hovered value, a zoom, one row per room${skipped}`,
    async () => {
      const r = await swarm(
        [...WORKLOAD, "--threshold", "lkswarm_inbound_loss_ratio p95 < 0.02", "-o", clean],
        env(),
      );
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      if (browser === undefined) throw new Error("no browser");
      const { page, errors } = await open(browser, join(clean, "report.html"));
      expect(await text(page, "#verdict h2")).toBe("PASS: 1 threshold met");
      const loss = await hoverAndZoom(page, "loss", join(shots, "clean-loss"));
      expect(loss.legend[0], `legend ${loss.legend.join(" | ")}`).toMatch(/^\d+(\.\d)? s$/);
      expect(loss.legend[1], `legend ${loss.legend.join(" | ")}`).toMatch(/%$/);
      expect(loss.zoomed.after).toBeLessThan(loss.zoomed.before * 0.5);
      expect(await texts(page, "#rooms tbody tr")).toHaveLength(3);
      await page.screenshot({ path: join(shots, "clean.png"), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
    150_000,
  );

  it.skipIf(!canRun)(
    `10% loss on every node against the clean baseline: FAIL (99), the delta in red and in JUnit${skipped}`,
    async () => {
      if (tb === undefined || browser === undefined) throw new Error("no testbed or browser");
      const lossy = join(dir, "lossy");
      const drops = tb.nodes.map((n, i) =>
        PacketLoss.inject(n.namespace, 0.1, "egress", `lkswarm_report_${i}`),
      );
      let r: Awaited<ReturnType<typeof swarm>>;
      try {
        r = await swarm(againstClean(lossy), env());
      } finally {
        for (const d of drops) d.remove();
      }
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(99);
      expect(readFileSync(join(lossy, "junit.xml"), "utf8")).toMatch(/delta \+\d+\.\d+%, DIFFERENT/);
      const { page, errors } = await open(browser, join(lossy, "report.html"));
      expect(await text(page, "#verdict h2")).toBe("FAIL: 1 of 1 threshold failed (exit 99)");
      expect(await text(page, "#thresholds td.worse")).toMatch(/^\+\d+\.\d+%/);
      const rooms = (await attributes(page, "#rooms tbody td:nth-child(4)", "data-v")).map(Number);
      expect(rooms).toHaveLength(3);
      // worst first, and every room lost packets through the dropped egress
      expect([...rooms].sort((a, b) => b - a)).toEqual(rooms);
      expect(Math.min(...rooms)).toBeGreaterThan(0.02);
      // a click on "join p95" sorts by it, largest first
      await page.click("#rooms th:nth-child(6)");
      const joins = (await attributes(page, "#rooms tbody td:nth-child(6)", "data-v")).map(Number);
      expect([...joins].sort((a, b) => b - a)).toEqual(joins);
      // the A/B table: every figure side by side, the loss the drop caused red beyond noise
      expect(await text(page, "#baseline")).toMatch(/^Against the baseline: \d+ worse/);
      const lossRows = await texts(page, "#comparison tbody tr");
      const lossOfAll = lossRows.filter((row) => row.startsWith("loss of all packets"));
      expect(lossOfAll, lossRows.join("\n")).toHaveLength(2);
      for (const row of lossOfAll) expect(row).toMatch(/\+\d+\.\d\d pt.*WORSE.*DIFFERENT \(p=0\.0\d\d/);
      expect(await attributes(page, "#comparison td.worse", "class")).not.toHaveLength(0);
      const [same] = await inPage(page, "#comparison", "e.querySelectorAll('tbody tr').length");
      expect(Number(same)).toBeGreaterThan(20);
      const table = await page.$("#comparison");
      await table?.screenshot({ path: join(shots, "ab-table.png") });
      const md = readFileSync(join(lossy, "report.md"), "utf8");
      expect(md).toMatch(/### Against the baseline: \d+ worse/);
      expect(md).toMatch(/\| loss of all packets \| audio \| run \| total \| .* \| 🔴 WORSE \|/);
      const chart = await hoverAndZoom(page, "loss", join(shots, "loss-loss"));
      expect(chart.legend[1]).toMatch(/%$/);
      await page.screenshot({ path: join(shots, "loss.png"), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
    150_000,
  );

  it.skipIf(!canRun)(
    `a second clean run against the clean baseline passes; swarm compare says within noise${skipped}`,
    async () => {
      if (browser === undefined) throw new Error("no browser");
      const again = join(dir, "clean-again");
      const r = await swarm(againstClean(again), env());
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const compared = await swarm(["compare", clean, again]);
      expect(compared.code, compared.stderr).toBe(0);
      expect(compared.stdout).toMatch(/^against the baseline: .*within noise/m);
      // the change word and the noise test agree row by row: grey exactly where p >= 0.05
      const rows = compared.stdout.split("\n").filter((l) => /\(p=\d\.\d{3}, n=\d+\/\d+\)$/.test(l));
      expect(rows.length, compared.stdout).toBeGreaterThan(5);
      for (const row of rows) {
        const p = Number(/\(p=(\d\.\d{3})/.exec(row)?.[1]);
        if (/ within noise {2}/.test(row)) expect(p, row).toBeGreaterThanOrEqual(0.05);
        if (/ (WORSE|better) {2}/.test(row)) expect(p, row).toBeLessThan(0.05);
      }
      // and a run against itself: every row the same, nothing worse
      const itself = await swarm(["compare", clean, join(clean, "summary.json")]);
      expect(itself.stdout).toMatch(/^against the baseline: \d+ the same$/m);
      const { page, errors } = await open(browser, join(again, "report.html"));
      expect(await text(page, "#verdict h2")).toBe("PASS: 1 threshold met");
      expect(await texts(page, "#comparison tbody tr")).not.toHaveLength(0);
      await page.screenshot({ path: join(shots, "clean-again.png"), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
    150_000,
  );

  it.skipIf(!canRun)(
    `a node-kill drill: its report.html beside report.md, the fault on the timeline${skipped}`,
    async () => {
      if (tb === undefined || browser === undefined) throw new Error("no testbed or browser");
      const file = join(dir, "kill.yaml");
      writeFileSync(
        file,
        `name: report-kill
target: { testbed: ${tb.name} }
workload:
  rooms: 3
  audio-publishers: 1
  video-publishers: 0
  subscribers: 2
  num-per-second: 6
  duration: 5m
baseline: 6s
after: 6s
observe: 20s
faults:
  - id: kill
    type: node.kill
    target: busiest-room-node
expect:
  participants-lost: 0
`,
      );
      const out = join(dir, "drill");
      const r = await swarm(["chaos", "run", file, "-o", out], {}, 180_000);
      expect(existsSync(join(out, "report.md")), r.stderr).toBe(true);
      const { page, errors } = await open(browser, join(out, "report.html"));
      expect(await text(page, "#verdict h2")).toMatch(/^(PASS|FAIL|DEVIATED|INCONCLUSIVE): /);
      const states = await hoverAndZoom(page, "states", join(shots, "drill-states"));
      expect(states.legend[1], `legend ${states.legend.join(" | ")}`).toMatch(/^\d+/);
      expect(states.zoomed.after).toBeLessThan(states.zoomed.before * 0.5);
      expect(await text(page, "#faults tbody td:nth-child(2)")).toBe("node.kill");
      expect(await texts(page, "#rooms tbody tr")).toHaveLength(3);
      await page.screenshot({ path: join(shots, "drill.png"), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
    200_000,
  );

  it.skipIf(!canRun)(
    `a drill sent SIGTERM mid-observe: rolled back, exit 143, report.html says interrupted${skipped}`,
    async () => {
      if (tb === undefined || browser === undefined) throw new Error("no testbed or browser");
      const file = writeDrill(
        dir,
        "report-interrupted",
        `${drillWorkload("", `{ testbed: ${tb.name} }`)}observe: 60s
faults:
  - { id: loss, type: net.loss, ratio: 20%, target: busiest-room-node, duration: 60s }
`,
      );
      const out = join(dir, "interrupted");
      const run = startSwarm(["chaos", "run", file, "-o", out]);
      // joining, a 6 s baseline and the fault's confirmation on a busy 2-core machine: 90 s is generous
      await waitFor(
        () => {
          if (run.child.exitCode !== null) throw new Error(`the drill exited early:\n${run.stderr}`);
          return /loss: confirmed/.test(run.stderr);
        },
        { timeoutMs: 90_000, debugName: () => `the loss fault was never confirmed:\n${run.stderr}` },
      );
      const confirmedAt = Date.now();
      // mid-observe, not at T0: the swarm has written a stats window (every 2 s) ending 2 s after the
      // confirmation; 30 s covers a slow window on a busy machine
      await waitFor(
        () =>
          existsSync(join(out, "swarm", "samples.jsonl")) &&
          readFileSync(join(out, "swarm", "samples.jsonl"), "utf8")
            .split("\n")
            .some((l) => l !== "" && (JSON.parse(l) as { t: number }).t > confirmedAt + 2000),
        { timeoutMs: 30_000, debugName: "a stats window 2 s into the fault" },
      );
      run.child.kill("SIGTERM");
      const code = await run.exited;
      expect(code, run.stderr).toBe(143);
      const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8")) as {
        status: string;
        partial?: boolean;
        rollbacks: { ok: boolean }[];
        abort: { atMs: number } | null;
      };
      expect(journal.partial).toBeUndefined();
      expect(journal.status).toBe("interrupted");
      expect(journal.rollbacks.length).toBeGreaterThan(0);
      expect(journal.rollbacks.every((r) => r.ok)).toBe(true);
      for (const n of tb.nodes)
        if (n.namespace !== undefined) expect(faultTables(n.namespace), n.name).toEqual([]);
      expect(readFileSync(join(out, "report.md"), "utf8")).toContain("drill interrupted");
      const { page, errors } = await open(browser, join(out, "report.html"));
      const atMs = journal.abort?.atMs ?? Number.NaN;
      expect(atMs).toBeGreaterThanOrEqual(2000);
      expect(await text(page, "#stopped h2")).toBe(
        `INTERRUPTED at T0 + ${(Math.round(atMs / 100) / 10).toFixed(1)} s: partial results`,
      );
      expect(await text(page, "#stopped")).toMatch(
        /What was measured until then.*12 participants followed.*1 of 1 fault\(s\) confirmed/,
      );
      expect(await text(page, "#faults tbody td:nth-child(2)")).toBe("net.loss");
      await page.screenshot({ path: join(shots, "interrupted.png"), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    },
    200_000,
  );
});
