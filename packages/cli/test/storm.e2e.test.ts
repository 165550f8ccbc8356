import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Testbed, down, runDirFor } from "@livekit-swarm/testbed";
import { leftovers, signalJoins, startSwarm, swarm, waitFor } from "@livekit-swarm/test-kit";

const NAME = `e2e-storm-${process.pid}`;
let testbed: Testbed;

// three nodes behind the balancer, with Redis: a storm's joins land on every node
beforeAll(async () => {
  const up = await swarm(["testbed", "up", "--nodes", "3", "--name", NAME], {}, 120_000);
  expect(up.code, up.stderr).toBe(0);
  testbed = Testbed.attach(NAME);
}, 150_000);

afterAll(async () => {
  await down(runDirFor(NAME));
  expect(leftovers(runDirFor(NAME))).toEqual([]);
}, 60_000);

interface StormSummary {
  readonly verdict: string;
  readonly storm: {
    readonly joins: number;
    readonly joinFailures: Record<string, number>;
    readonly reconnects: Record<string, { readonly n: number }>;
    readonly reconnectFailures: Record<string, number>;
  };
  readonly k6: Record<string, Record<string, number>>;
}

/** The keys go in the environment, as a user's CI would; the storm's files must never hold them. */
async function storm(
  args: readonly string[],
): Promise<{ code: number | null; out: string; summary: StormSummary; stdout: string; stderr: string }> {
  const out = mkdtempSync(join(tmpdir(), "storm-e2e-"));
  const result = await swarm(
    ["storm", ...args, "--url", testbed.url, "-o", out],
    { LIVEKIT_API_KEY: testbed.apiKey, LIVEKIT_API_SECRET: testbed.apiSecret },
    120_000,
  );
  for (const file of readdirSync(out)) {
    const text = readFileSync(join(out, file), "utf8");
    expect(text, `${file} holds the secret`).not.toContain(testbed.apiSecret);
    expect(text, `${file} holds a token`).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  }
  expect(result.stdout + result.stderr).not.toContain(testbed.apiSecret);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as StormSummary;
  return { code: result.code, out, summary, stdout: result.stdout, stderr: result.stderr };
}

describe("swarm storm against a 3-node testbed", () => {
  it("a join storm at 10 joins/s passes its thresholds, and k6, swarm and LiveKit count the same joins", async () => {
    const before = await signalJoins(testbed);
    const run = await storm([
      "join-storm",
      "--rate",
      "10",
      "--duration",
      "10s",
      "--set",
      "STORM_HOLD_MIN_S=1",
      "--set",
      "STORM_HOLD_MAX_S=3",
      "--threshold",
      "lkswarm_storm_join_failures_total count == 0",
      "--threshold",
      "lkswarm_storm_join_duration_seconds p95 < 2s",
    ]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const after = await signalJoins(testbed);
    const joins = run.summary.storm.joins;
    // 10/s for 10 s: k6 starts about 100 iterations; a loaded machine may drop a few it cannot start in time
    expect(joins, "joins").toBeGreaterThanOrEqual(80);
    expect(run.summary.k6.storm_joins?.count, "k6's own count").toBe(joins);
    expect(after - before, "LiveKit's signal_connected across the nodes").toBe(joins);
    expect(run.summary.verdict).toBe("pass");
  }, 180_000);

  it("an impossible threshold of ours exits 99 and junit.xml names it", async () => {
    const impossible = "lkswarm_storm_join_duration_seconds p50 < 0.01ms";
    const run = await storm([
      "join-storm",
      "--rate",
      "5",
      "--duration",
      "3s",
      "--set",
      "STORM_HOLD_MAX_S=1",
      "--threshold",
      impossible,
    ]);
    expect(run.code, run.stderr).toBe(99);
    const junit = readFileSync(join(run.out, "junit.xml"), "utf8");
    expect(junit).toContain(`name="${impossible.replace("<", "&lt;")}"`);
    expect(junit).toMatch(/<failure [^>]*type="ThresholdBreached"/);
  }, 120_000);

  it("k6's own threshold crossed (k6 exit 99) exits 99 too, and junit.xml names k6's threshold", async () => {
    const run = await storm([
      "join-storm",
      "--rate",
      "5",
      "--duration",
      "3s",
      "--set",
      "STORM_HOLD_MAX_S=1",
      "--set",
      "STORM_JOIN_P95_MS=0",
    ]);
    expect(run.code, run.stderr).toBe(99);
    const junit = readFileSync(join(run.out, "junit.xml"), "utf8");
    expect(junit).toMatch(/name="k6: storm_join_duration p\(95\)&lt;0"[^>]*>\s*<failure/);
  }, 120_000);

  it("a reconnect storm: every resume is answered (resumed, rejoined or leave), none lost", async () => {
    const run = await storm(["reconnect", "--vus", "10", "--duration", "8s", "--set", "STORM_HOLD_S=1"]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const s = run.summary.storm;
    const answered = Object.values(s.reconnects).reduce((a, r) => a + r.n, 0);
    expect(answered, JSON.stringify(s.reconnects)).toBeGreaterThan(0);
    expect(Object.keys(s.reconnects).every((state) => ["resumed", "rejoined", "leave"].includes(state))).toBe(
      true,
    );
    expect(Object.values(s.reconnectFailures).reduce((a, b) => a + b, 0)).toBe(0);
  }, 120_000);

  // last: the testbed is left without Redis
  it("Redis killed mid-storm: the joins that fail are reported by reason, and the storm exits 99", async () => {
    const out = mkdtempSync(join(tmpdir(), "storm-e2e-redis-"));
    const before = await signalJoins(testbed);
    const run = startSwarm(
      [
        "storm",
        "join-storm",
        "--rate",
        "10",
        "--duration",
        "15s",
        "--set",
        "STORM_HOLD_MAX_S=2",
        "--set",
        "STORM_JOIN_TIMEOUT_MS=3000",
        "--url",
        testbed.url,
        "-o",
        out,
      ],
      { LIVEKIT_API_KEY: testbed.apiKey, LIVEKIT_API_SECRET: testbed.apiSecret },
    );
    // kill Redis once the storm is under way (20 joins in), so some joins succeed first
    await waitFor(async () => (await signalJoins(testbed)) - before >= 20, {
      timeoutMs: 60_000,
      debugName: "20 storm joins before killing Redis",
      exited: run.exited,
    });
    expect(testbed.signalRedis("SIGKILL"), "Redis was ours and alive").toBe(true);
    expect(await run.exited, run.stderr).toBe(99);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as StormSummary;
    const failures = Object.values(summary.storm.joinFailures).reduce((a, b) => a + b, 0);
    expect(summary.storm.joins, "joins before the kill").toBeGreaterThanOrEqual(20);
    expect(failures, `failures by reason: ${JSON.stringify(summary.storm.joinFailures)}`).toBeGreaterThan(0);
    expect(Object.keys(summary.storm.joinFailures).every((r) => r !== "unknown")).toBe(true);
    expect(readFileSync(join(out, "report.md"), "utf8")).toMatch(/join failures \| \w+: \d+/);
  }, 150_000);
});
