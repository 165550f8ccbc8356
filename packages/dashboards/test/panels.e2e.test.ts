import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startSwarm, waitFor } from "@livekit-swarm/test-kit";
import { Testbed } from "@livekit-swarm/testbed";
import { dashboards } from "../src/index.js";
import { runsSelector } from "../src/swarm/index.js";
import { catalogEntry, panelsOf } from "../src/lint.js";
import { metricNames } from "../src/promql.js";

const CLI = fileURLToPath(new URL("../../cli/dist/cli.js", import.meta.url));
const SCRAPE_SECONDS = 2;

/**
 * Queries that cannot have data in a clean run on loopback, each with the reason. Their metrics are
 * still checked against the catalog, so a rename cannot hide here.
 */
const NEEDS_FAULTS: Readonly<Record<string, string>> = {
  "LiveKit swarm: quality / Join failures per second / A": "needs a failed join",
  "LiveKit swarm: quality / Reconnect duration / A": "needs a reconnect (chaos run)",
  "LiveKit swarm: quality / Reconnect duration / B": "needs a reconnect (chaos run)",
  "LiveKit swarm: quality / Reconnect duration / C": "needs a reconnect (chaos run)",
  "LiveKit swarm: quality / Storm join failures per second / A": "needs a storm join that fails",
  "LiveKit swarm: quality / RoomService failures per second / A": "needs a failing RoomService call",
  "LiveKit swarm: server / Twirp errors / A": "needs a failing server API call; token-only joins make none",
  "LiveKit swarm: server / Round-trip time / A": "RTT rounds to 0 ms on loopback, so nothing is observed",
  "LiveKit swarm: server / NACK and PLI rate / A": "livekit_nack_total moves only when a stats window has NACKs (loss)",
  "LiveKit swarm: quality / Swarm workers' native media thread / A":
    "needs lean's native media path (this run is rtc-node's); starved.e2e scrapes the gauge from such runs",
  "LiveKit swarm: quality / Swarm workers' native media thread / B":
    "needs lean's native media path (this run is rtc-node's); starved.e2e scrapes the gauge from such runs",
};

interface Target {
  readonly refId?: string;
  readonly expr?: string;
}

function runSwarm(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => {
      resolve({ code, stderr });
    });
  });
}

interface RangeResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

interface StormSummary {
  readonly run: { readonly id: string; readonly endedAt: string };
  readonly storm: { readonly joins: number };
}

describe("every dashboard query against a real run and a real storm", () => {
  let tb: Testbed | undefined;
  let prom = "";
  let runId = "";
  let storm: StormSummary | undefined;
  /** lkswarm_storm_joins_total as Prometheus scraped it while k6 was still running: [time s, value]. */
  let midStorm: [number, number] | undefined;
  let start = 0;
  let end = 0;

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -b\` before the end-to-end tests`);
    const port = await freePort();
    const stormPort = await freePort();
    tb = await Testbed.start({
      name: `e2e-dash-${process.pid}`,
      nodes: 1,
      prometheus: true,
      scrapeTargets: [`127.0.0.1:${port}`, `127.0.0.1:${stormPort}`],
    });
    prom = tb.prometheusUrl ?? "";
    const out = mkdtempSync(join(tmpdir(), "dash-e2e-"));
    start = Date.now() / 1000;
    // 20 s holds several 5 s stats windows; --linger 7s outlasts three scrapes, so the final values land.
    const result = await runSwarm(
      // 9 joins, one every 2 s: rate() panels over join histograms (ours and LiveKit's) need several
      // increases spread over several scrapes, which a burst of joins does not give
      ["--rooms", "3", "--subscribers", "2", "--duration", "20s", "--num-per-second", "0.5"]
        .concat(["--metrics-port", String(port), "--linger", "7s", "-o", out]),
      { LIVEKIT_URL: tb.url, LIVEKIT_API_KEY: tb.apiKey, LIVEKIT_API_SECRET: tb.apiSecret },
    );
    expect(result.code, result.stderr).toBe(0);
    runId = (JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as { run: { id: string } }).run.id;

    // the signalling rows: a RoomService storm (each iteration: Twirp calls and one signal-only
    // join), 2 per second for 20 s so rate() sees increases over several scrapes; its /metrics is
    // live while k6 runs, and --linger 7s outlasts three scrapes after it
    const stormOut = mkdtempSync(join(tmpdir(), "dash-storm-e2e-"));
    const env = { LIVEKIT_URL: tb.url, LIVEKIT_API_KEY: tb.apiKey, LIVEKIT_API_SECRET: tb.apiSecret };
    const run = startSwarm(
      ["storm", "room-service", "--rate", "2", "--duration", "20s", "--metrics-port", String(stormPort)]
        .concat(["--linger", "7s", "-o", stormOut]),
      env,
    );
    // a scrape with joins in it while the storm goes on; 60 s: k6 starts, the first joins land and
    // a 2 s scrape picks them up, on a machine other runs share
    await waitFor(
      async () => {
        const sample = await instant("max(lkswarm_storm_joins_total)");
        if (sample === undefined || sample[1] === 0) return false;
        midStorm = sample;
        return true;
      },
      {
        timeoutMs: 60_000,
        // the storm's own words when it ends early (CI: it exited 1 and nothing said why)
        debugName: () => `Prometheus scrapes storm joins during the storm (storm stderr: ${run.stderr.slice(-1500)})`,
        exited: run.exited,
      },
    );
    expect(await run.exited, run.stderr).toBe(0);
    end = Date.now() / 1000;
    storm = JSON.parse(readFileSync(join(stormOut, "summary.json"), "utf8")) as StormSummary;
  }, 240_000);

  /** One instant query's first sample, or undefined when it has none. */
  async function instant(expr: string): Promise<[number, number] | undefined> {
    const res = await fetch(`${prom}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
    const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } };
    const first = body.data?.result[0];
    return first === undefined ? undefined : [first.value[0], Number(first.value[1])];
  }

  afterAll(async () => {
    await tb?.stop();
  });

  /** What Grafana would send: its builtins at this run's scale and the variables at this run. */
  function substitute(expr: string): string {
    const range = Math.ceil(end - start);
    return expr
      // Grafana would use 4 scrapes (8 s). A 20 s run has a handful of joins, and a series first
      // scraped after its first event hides that increase: 8 s windows can miss every one. The test
      // proves each query names real series with data; 30 s windows make that independent of timing.
      .replaceAll("$__rate_interval", `${15 * SCRAPE_SECONDS}s`)
      .replaceAll("$__interval", `${SCRAPE_SECONDS}s`)
      .replaceAll("$__range", `${range}s`)
      .replaceAll("$scenario", ".*")
      // the run variable with both selected, as Grafana sends a multi-value: an alternation
      .replaceAll("$run_id", `(${runId}|${storm?.run.id ?? ""})`)
      .replaceAll("$job", ".*")
      .replaceAll("$instance", ".*");
  }

  async function queryRange(expr: string): Promise<RangeResult> {
    const params = new URLSearchParams({
      query: expr,
      start: String(start),
      end: String(end),
      step: String(SCRAPE_SECONDS),
    });
    const res = await fetch(`${prom}/api/v1/query_range?${params.toString()}`);
    return (await res.json()) as RangeResult;
  }

  for (const path of ["dashboards/swarm-quality.json", "dashboards/livekit-server.json"]) {
    it(`${path}: every query returns data`, async () => {
      const d = dashboards().get(path);
      if (d === undefined) throw new Error(`${path} is not among renderDashboards()`);
      const empty: string[] = [];
      const unexpectedlyFull: string[] = [];
      for (const p of panelsOf(d)) {
        for (const t of (p.targets ?? []) as Target[]) {
          const key = `${d.title ?? path} / ${p.title} / ${t.refId}`;
          const expr = substitute(t.expr ?? "");
          const body = await queryRange(expr);
          expect(body.status, `${key}: ${expr}: ${body.error}`).toBe("success");
          const points = (body.data?.result ?? []).flatMap((s) => s.values).filter(([, v]) => v !== "NaN");
          const exempt = NEEDS_FAULTS[key];
          if (exempt !== undefined) {
            for (const name of metricNames(t.expr ?? "")) {
              expect(catalogEntry(name), `${key}: ${name} (exempt: ${exempt}) is not in the catalog`).toBeDefined();
            }
            if (points.length > 0) unexpectedlyFull.push(key);
          } else if (points.length === 0) {
            empty.push(`${key}: ${expr}`);
          }
        }
      }
      expect(empty, `run ${runId} from ${start} to ${end}`).toEqual([]);
      // informational: an exemption that now has data can be dropped from NEEDS_FAULTS
      if (unexpectedlyFull.length > 0) console.log(`exempt but with data: ${unexpectedlyFull.join("; ")}`);
    });
  }

  it("dashboards/chaos-drill.json: every query runs and names only catalog metrics [data not checked: chaos-only panels need a chaos drill, which is not built yet]", async () => {
    const d = dashboards().get("dashboards/chaos-drill.json");
    if (d === undefined) throw new Error("dashboards/chaos-drill.json is not among renderDashboards()");
    let queries = 0;
    for (const p of panelsOf(d)) {
      for (const t of (p.targets ?? []) as Target[]) {
        const key = `${d.title ?? "chaos"} / ${p.title} / ${t.refId}`;
        const expr = substitute(t.expr ?? "");
        if (expr === "") continue;
        queries++;
        // Prometheus parses and runs it: a syntax error or unknown function would fail here
        const body = await queryRange(expr);
        expect(body.status, `${key}: ${expr}: ${body.error}`).toBe("success");
        for (const name of metricNames(t.expr ?? "")) {
          expect(catalogEntry(name), `${key}: ${name} is not in the catalog`).toBeDefined();
        }
      }
    }
    expect(queries).toBeGreaterThan(0);
  });

  it("a scrape during the storm saw joins, no more than the storm's final count", () => {
    if (midStorm === undefined || storm === undefined) throw new Error("the storm did not run");
    const [at, joins] = midStorm;
    expect(joins, "joins scraped mid-storm").toBeGreaterThan(0);
    expect(joins, `joins scraped mid-storm vs the final ${storm.storm.joins}`).toBeLessThanOrEqual(storm.storm.joins);
    // the sample was taken while k6 ran, not during --linger after it: evaluated before the storm's end
    expect(at * 1000, `scraped at ${new Date(at * 1000).toISOString()}, storm ended ${storm.run.endedAt}`).toBeLessThan(
      Date.parse(storm.run.endedAt),
    );
  });

  it("template variable queries list this run and the node", async () => {
    const values = async (label: string, match: string): Promise<string[]> => {
      const res = await fetch(`${prom}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
      return ((await res.json()) as { data: string[] }).data;
    };
    const runs = runsSelector();
    expect(await values("run_id", runs)).toContain(runId);
    expect(await values("run_id", runs), "the storm is listed beside the media run").toContain(storm?.run.id);
    expect(await values("job", "livekit_room_total")).toContain("livekit");
    expect((await values("instance", 'livekit_room_total{job=~".*"}')).length).toBeGreaterThan(0);
  });
});
