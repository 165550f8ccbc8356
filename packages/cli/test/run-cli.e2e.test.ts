import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Testbed, runDirFor } from "@livekit-swarm/testbed";
import { alive, startSwarm, swarm, leftovers } from "@livekit-swarm/test-kit";

describe("swarm run: Ctrl-C against the embedded LiveKit", () => {
  it("stops joining, writes the report, exits 130 and leaves nothing running", async () => {
    const out = mkdtempSync(join(tmpdir(), "swarm-sigint-"));
    // no --url (an empty LIVEKIT_URL is unset): the run starts, and must stop, its own testbed
    const run = startSwarm(["--rooms", "2", "--subscribers", "1", "--duration", "300s", "-o", out], {
      LIVEKIT_URL: "",
    });
    const { child, exited } = run;
    const deadline = Date.now() + 60_000;
    while (!/4\/4 joined/.test(run.stderr)) {
      if (Date.now() > deadline) throw new Error(`the swarm never got its 4 participants in:\n${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill("SIGINT");
    expect(await exited, run.stderr).toBe(130);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      run: { endReason: string; workerPids: number[] };
      participants: { joined: number };
    };
    expect(summary.run.endReason).toBe("interrupted");
    expect(summary.participants.joined).toBe(4);
    expect(summary.run.workerPids.filter(alive), "workers still alive").toEqual([]);
    expect(leftovers(runDirFor(`swarm-${child.pid ?? 0}`)), "embedded testbed leftovers").toEqual([]);
  }, 120_000);
});

describe("swarm run: Ctrl-C during the ramp", () => {
  it("accounts for everyone: joined, cut off joining, or not yet due (before: all but the joined 'never joined')", async () => {
    const out = mkdtempSync(join(tmpdir(), "swarm-sigint-ramp-"));
    // 12 participants at one a second: stopped at the first progress line (5 s), most are not due
    const run = startSwarm(
      ["--rooms", "4", "--subscribers", "2", "--num-per-second", "1", "--duration", "60s", "-o", out],
      { LIVEKIT_URL: "" },
    );
    const deadline = Date.now() + 60_000;
    while (!/[1-9]\d*\/12 joined/.test(run.stderr)) {
      if (Date.now() > deadline) throw new Error(`nobody joined:\n${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    run.child.kill("SIGINT");
    expect(await run.exited, run.stderr).toBe(130);
    const { participants: p } = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
      participants: {
        planned: number;
        joined: number;
        notDue?: number;
        joinFailures: Record<string, number>;
      };
    };
    const notDue = p.notDue ?? 0;
    expect(p.joined, run.stdout).toBeLessThan(12);
    expect(notDue, run.stdout).toBeGreaterThan(0);
    // at most one join a second was under way when the stop came: the rest were not due
    const joining = p.planned - p.joined - notDue;
    expect(joining, run.stdout).toBeLessThanOrEqual(2);
    const line = run.stdout.match(/participants: (.*)/)?.[1] ?? "";
    expect(line).toContain(`${p.joined} of 12 planned joined`);
    expect(line).toContain(`${notDue} not yet due to join when the run ended`);
    expect(line).toMatch(joining > 0 ? new RegExp(`, ${joining} never joined`) : /^(?!.*never joined)/);
  }, 120_000);
});

describe("swarm run: a breached threshold with abort= ends the run early", () => {
  it("exits 99 long before the hold ends, with the verdict in the GitHub step summary and annotations", async () => {
    const tb = await Testbed.start({ name: `e2e-abort-${process.pid}` });
    try {
      const out = mkdtempSync(join(tmpdir(), "swarm-abort-"));
      const stepSummary = join(out, "step-summary.md");
      const started = Date.now();
      const r = await swarm(
        [
          "--rooms",
          "1",
          "--subscribers",
          "1",
          "--duration",
          "60s",
          "-o",
          out,
          "--threshold",
          "lkswarm_join_duration_seconds p95 < 1ms abort=3s",
        ],
        {
          LIVEKIT_URL: tb.url,
          LIVEKIT_API_KEY: tb.apiKey,
          LIVEKIT_API_SECRET: tb.apiSecret,
          GITHUB_STEP_SUMMARY: stepSummary,
          GITHUB_ACTIONS: "true",
        },
      );
      expect(r.code, r.stderr).toBe(99);
      expect(r.stderr).toContain(
        "threshold breached for its abort window, ending the run: lkswarm_join_duration_seconds p95 < 1ms abort=3s",
      );
      // 60 s hold; the abort comes 3 s after the first joins, the drain takes a few more
      expect(Date.now() - started).toBeLessThan(40_000);
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
        run: { endReason: string };
        verdict: string;
      };
      expect(summary.run.endReason).toBe("aborted");
      expect(summary.verdict).toBe("fail");
      expect(readFileSync(stepSummary, "utf8")).toContain("FAILED");
      expect(r.stdout).toContain("::error title=threshold lkswarm_join_duration_seconds::");
    } finally {
      await tb.stop();
    }
  }, 90_000);
});

describe("swarm run: bad input gets exit 1 and a message naming the fix", () => {
  let tb: Testbed;
  const dir = mkdtempSync(join(tmpdir(), "swarm-bad-"));
  beforeAll(async () => {
    tb = await Testbed.start({ name: `e2e-badinput-${process.pid}` });
  });
  afterAll(async () => {
    await tb.stop();
  });

  it("an unreachable server", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const address = closed.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    await new Promise((resolve) => closed.close(resolve));
    const r = await swarm(["--url", `ws://127.0.0.1:${port}`, "--api-key", "k", "--api-secret", "s"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach ws://127.0.0.1:${port}`);
    expect(r.stderr).toContain("is the server running? pass --url");
  });

  it("wrong keys, without printing the secret", async () => {
    const r = await swarm([
      "--url",
      tb.url,
      "--api-key",
      tb.apiKey,
      "--api-secret",
      "not-the-secret-0123456789abcdef",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`rejected the API key ${tb.apiKey}`);
    expect(r.stderr).toContain("--api-secret");
    expect(r.stderr).not.toContain("not-the-secret");
    // LiveKit's "invalid token: eyJ..." quoted a token signed with that secret
    expect(r.stderr).not.toMatch(/eyJ[\w-]+\./);
  });

  it("a URL without keys", async () => {
    const env = { LIVEKIT_API_KEY: "", LIVEKIT_API_SECRET: "" };
    const r = await swarm(["--url", tb.url], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--url needs --api-key and --api-secret");
  });

  it("a malformed scenario file names the file, the key and the fix", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "rooms: ten\nvideo:\n  codec: vp7\nromos: 3\n");
    const r = await swarm(["--scenario", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: rooms: expected a positive integer, got "ten"`);
    expect(r.stderr).toContain(`${file}: video.codec: expected one of vp8, h264, vp9, av1, got "vp7"`);
    expect(r.stderr).toContain(`${file}: romos: unknown key (did you mean "rooms"?)`);
  });

  it("a bad flag value names the flag", async () => {
    const r = await swarm([
      "--rooms",
      "0",
      "--url",
      tb.url,
      "--api-key",
      tb.apiKey,
      "--api-secret",
      tb.apiSecret,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--rooms: expected an integer from 1 to 10000, got "0"');
  });

  it("a malformed threshold quotes the text and the fix", async () => {
    const r = await swarm(["--threshold", "lkswarm_inbound_los_ratio p95 < 2%"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'threshold "lkswarm_inbound_los_ratio p95 < 2%": unknown metric lkswarm_inbound_los_ratio (did you mean lkswarm_inbound_loss_ratio',
    );
  });

  it("more than 50 participants against LiveKit Cloud is refused before connecting", async () => {
    const r = await swarm([
      "--url",
      "wss://example.livekit.cloud",
      "--api-key",
      "k",
      "--api-secret",
      "s",
      "--rooms",
      "20",
      "--subscribers",
      "4",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("100 participants against LiveKit Cloud");
  });
});
