import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Testbed, down, runDirFor } from "@livekit-swarm/testbed";
import { leftovers, signalJoins, swarm, testbedUp } from "@livekit-swarm/test-kit";

const NAME = `e2e-media-storm-${process.pid}`;
const SCENARIO = fileURLToPath(new URL("../../../scenarios/media-plus-storm.yaml", import.meta.url));
let testbed: Testbed;

// three nodes behind the balancer, with Redis: the media rooms and the storm's rooms spread over them
beforeAll(async () => {
  testbed = await testbedUp(NAME, 3);
}, 150_000);

afterAll(async () => {
  await down(runDirFor(NAME));
  expect(leftovers(runDirFor(NAME))).toEqual([]);
}, 60_000);

interface ImpactRow {
  readonly figure: string;
  readonly before?: number;
  readonly during?: number;
  readonly after?: number;
}

interface StormSummary {
  readonly verdict: string;
  readonly storm: { readonly joins: number; readonly joinFailures: Record<string, number> };
  readonly k6: Record<string, Record<string, number>>;
  readonly mediaImpact?: {
    readonly windows: Record<"before" | "during" | "after", [number, number]>;
    readonly rows: readonly ImpactRow[];
  };
}

describe("scenarios/media-plus-storm.yaml against a 3-node testbed", () => {
  it("holds lean media rooms through a join storm: one verdict over both, and what the storm did to the media", async () => {
    const out = mkdtempSync(join(tmpdir(), "media-storm-e2e-"));
    const before = await signalJoins(testbed);
    const run = await swarm(
      ["--scenario", SCENARIO, "--url", testbed.url, "-o", out],
      { LIVEKIT_API_KEY: testbed.apiKey, LIVEKIT_API_SECRET: testbed.apiSecret },
      240_000,
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const after = await signalJoins(testbed);

    const storm = JSON.parse(readFileSync(join(out, "storm", "summary.json"), "utf8")) as StormSummary;
    // 10/s for 15 s: about 150; a loaded machine may drop a few arrivals k6 cannot start in time
    expect(storm.storm.joins, "storm joins").toBeGreaterThanOrEqual(120);
    expect(storm.k6.storm_joins?.count, "k6's own count").toBe(storm.storm.joins);
    const media = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      run: { participants: number };
    };
    // every signal join the server counted is a media participant's or a storm join
    expect(after - before, "LiveKit's signal_connected across the nodes").toBe(
      storm.storm.joins + media.run.participants,
    );

    // one verdict: the media's and the storm's thresholds, ours and k6's, in one junit.xml
    const junit = readFileSync(join(out, "junit.xml"), "utf8");
    for (const name of [
      "lkswarm_inbound_loss_ratio p95 &lt; 5%",
      "lkswarm_storm_join_duration_seconds p95 &lt; 2s",
      "k6: storm_join_duration p(95)&lt;1000",
    ])
      expect(junit, name).toContain(`name="${name}"`);
    expect(junit).not.toMatch(/<failure/);

    // the media before, during and after the storm: windows in order, each with media in it
    const impact = storm.mediaImpact;
    if (impact === undefined) throw new Error("storm/summary.json has no mediaImpact");
    const { before: b, during: d, after: a } = impact.windows;
    expect(
      b[0] < b[1] && b[1] === d[0] && d[0] < d[1] && d[1] === a[0] && a[0] < a[1],
      JSON.stringify(impact.windows),
    ).toBe(true);
    const loss = impact.rows.find((r) => r.figure === "loss p95");
    expect(loss, JSON.stringify(impact.rows)).toBeDefined();
    for (const part of ["before", "during", "after"] as const)
      expect(loss?.[part], `loss p95 ${part} the storm: media was measured then`).toBeTypeOf("number");
    const report = readFileSync(join(out, "report.md"), "utf8");
    expect(report).toContain("## Signalling storm: join-storm");
    expect(report).toMatch(
      /## What the storm did to the media[\s\S]*\| loss p95 \| [\d.]+ % \| [\d.]+ % \| [\d.]+ % \|/,
    );

    // the keys reached k6 through its environment only
    for (const dir of [out, join(out, "storm")])
      for (const file of readdirSync(dir).filter((f) => existsSync(join(dir, f)) && f.includes(".")))
        expect(readFileSync(join(dir, file), "utf8"), `${file} holds the secret`).not.toContain(
          testbed.apiSecret,
        );
  }, 300_000);

  it("a storm threshold crossed fails the one verdict (exit 99) while the media's pass, each named in junit.xml", async () => {
    const out = mkdtempSync(join(tmpdir(), "media-storm-e2e-"));
    const impossible = "lkswarm_storm_join_duration_seconds p50 < 0.01ms";
    // a shorter hold (the storm still ends 5 s before it) keeps this second run cheap
    const run = await swarm(
      [
        "--scenario",
        SCENARIO,
        "--duration",
        "30s",
        "--threshold",
        impossible,
        "--url",
        testbed.url,
        "-o",
        out,
      ],
      { LIVEKIT_API_KEY: testbed.apiKey, LIVEKIT_API_SECRET: testbed.apiSecret },
      240_000,
    );
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(99);
    const junit = readFileSync(join(out, "junit.xml"), "utf8");
    const testcase = (name: string): string =>
      new RegExp(
        `<testcase [^>]*name="${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"[^>]*(/>|>[\\s\\S]*?</testcase>)`,
      ).exec(junit)?.[0] ?? "";
    expect(testcase(impossible.replace("<", "&lt;")), "the storm's threshold failed").toMatch(/<failure/);
    expect(testcase("lkswarm_inbound_loss_ratio p95 &lt; 5%"), "the media's passed").not.toMatch(/<failure/);
    expect(
      testcase("lkswarm_inbound_loss_ratio p95 &lt; 5%"),
      "the media's is in the same junit.xml",
    ).not.toBe("");
  }, 300_000);
});
