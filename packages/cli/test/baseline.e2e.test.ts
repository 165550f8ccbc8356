import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Testbed } from "@livekit-swarm/testbed";
import { swarm } from "@livekit-swarm/test-kit";

/** Two short runs of the same workload against one testbed: the baseline A and the candidate B. */
describe("swarm --baseline and swarm compare against a real LiveKit", () => {
  let tb: Testbed;
  const dir = mkdtempSync(join(tmpdir(), "swarm-baseline-"));
  const a = join(dir, "a");
  const b = join(dir, "b");
  const workload = ["--rooms", "1", "--subscribers", "2", "--duration", "4s"];
  const env = (): NodeJS.ProcessEnv => ({
    LIVEKIT_URL: tb.url,
    LIVEKIT_API_KEY: tb.apiKey,
    LIVEKIT_API_SECRET: tb.apiSecret,
  });

  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-baseline-${process.pid}` });
    const first = await swarm([...workload, "-o", a], env());
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await tb.stop();
  });

  it("a relative threshold without --baseline is refused before the run, naming the fix", async () => {
    const r = await swarm(
      [...workload, "--threshold", "lkswarm_join_duration_seconds p95 <= baseline + 20%"],
      env(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /compares with a baseline: pass --baseline <summary.json or run folder>$/,
    );
  }, 60_000);

  it("a baseline that was stopped before its end is refused before the run, naming --force-compare; swarm compare marks it", async () => {
    // the first run's summary as if it had been Ctrl-C'd: what a CI job's stored baseline can be
    const stopped = join(dir, "stopped");
    mkdirSync(stopped);
    const s = JSON.parse(readFileSync(join(a, "summary.json"), "utf8")) as {
      run: Record<string, unknown>;
      health: Record<string, unknown>;
    };
    s.run.endReason = "interrupted";
    s.health.exitCode = 130;
    writeFileSync(join(stopped, "summary.json"), JSON.stringify(s));
    const gate = ["--threshold", "lkswarm_join_duration_seconds p95 <= baseline * 20", "--baseline", stopped];
    const refused = await swarm([...workload, ...gate, "-o", join(dir, "refused")], env());
    expect(refused.code, refused.stdout).toBe(1);
    expect(refused.stderr.trim()).toMatch(
      /stopped\/summary.json: the baseline run was interrupted \(exit 130\), so its figures are not a whole measurement of LiveKit; .*or --force-compare to use it anyway$/,
    );
    expect(existsSync(join(dir, "refused")), "refused before the run").toBe(false);
    const compared = await swarm(["compare", stopped, a]);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toMatch(
      /^baseline: .*stopped\/summary.json \(run [^)]+\): NOT A WHOLE RUN, it was interrupted \(exit 130\)$/m,
    );
  }, 60_000);

  it("a second run of the same workload passes a generous threshold against the first", async () => {
    // the join time of a shared 2-core machine swings by several times between runs: the limit is
    // wide on purpose, this checks the plumbing, not LiveKit's speed
    const r = await swarm(
      [
        ...workload,
        "-o",
        b,
        "--baseline",
        a,
        "--threshold",
        "lkswarm_join_duration_seconds p95 <= baseline * 20",
      ],
      env(),
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(
      /pass {4}lkswarm_join_duration_seconds p95 <= baseline \* 20: observed .* \(baseline /,
    );
    const report = readFileSync(join(b, "report.md"), "utf8");
    expect(report).toContain("| result | threshold | baseline | observed | delta | noise | over |");
    const summary = JSON.parse(readFileSync(join(b, "summary.json"), "utf8")) as {
      samples: { metric: string; values: number[] }[];
    };
    expect(
      summary.samples.some((s) => s.metric === "lkswarm_join_duration_seconds" && s.values.length === 3),
    ).toBe(true);
  }, 120_000);

  it("swarm compare: a run against itself is within noise on every figure with samples; exit 0", async () => {
    const r = await swarm(["compare", a, join(a, "summary.json")], env());
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.split("\n").filter((l) => /p=/.test(l));
    expect(rows.length, r.stdout).toBeGreaterThan(0);
    for (const row of rows) expect(row).toContain("within noise (p=1.000");
  }, 60_000);

  it("swarm compare: two clean runs of the same workload, with a noise verdict per figure", async () => {
    const r = await swarm(["compare", a, b], env());
    expect(r.code, r.stderr).toBe(0);
    // three participants a side cannot make a difference significant at 5% with this test
    expect(r.stdout).toMatch(/join time\s+participants\s+.*within noise \(p=\d\.\d{3}, n=3\/3\)/);
  }, 60_000);

  it("swarm compare: a different workload is refused unless --force-compare; bad files name the fix", async () => {
    const c = join(dir, "c");
    // 6 s: a 2 s run in a clean-clone suite run (2026-11-29) ended with its 4 joins still under way (exit 1)
    const other = await swarm(["--rooms", "2", "--subscribers", "1", "--duration", "6s", "-o", c], env());
    expect(other.code, other.stderr).toBe(0);
    const refused = await swarm(["compare", a, c], env());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /ran different workloads \(rooms 1 vs 2; subscribers 2 vs 1\).*--force-compare/,
    );
    expect((await swarm(["compare", a, c, "--force-compare"], env())).code).toBe(0);
    const missing = await swarm(["compare", a, join(dir, "nope")], env());
    expect(missing.stderr.trim()).toBe(
      `swarm: ${join(dir, "nope")}: no such file or folder; pass a run's summary.json or its output folder (swarm -o DIR)`,
    );
  }, 120_000);
});
