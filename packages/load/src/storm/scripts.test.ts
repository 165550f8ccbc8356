import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { findBinary } from "@livekit-swarm/testbed";
import { STORM_SCENARIOS, stormScript } from "./storm.js";

function k6(): string | undefined {
  try {
    return findBinary("k6");
  } catch {
    return undefined;
  }
}
const bin = k6();

// `k6 inspect` loads a script as k6 would (imports, options, thresholds) without running it
describe.skipIf(bin === undefined)("the ready-made storms (skipped without k6: run scripts/setup)", () => {
  it.each(STORM_SCENARIOS.map((s) => [s]))("%s loads in k6 with thresholds on the join figures", (name) => {
    const out = execFileSync(bin ?? "k6", ["inspect", "--include-system-env-vars", stormScript(name).path], {
      env: { ...process.env, LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s", K6_NO_USAGE_REPORT: "true" },
      encoding: "utf8",
    });
    const options = (JSON.parse(out) as { thresholds?: Record<string, unknown> }).thresholds ?? {};
    expect(Object.keys(options)).toEqual(
      expect.arrayContaining(["storm_join_duration", "storm_join_failures"]),
    );
  });

  it("refuses a hold past the minute after which LiveKit drops signal-only participants", () => {
    expect(() =>
      execFileSync(bin ?? "k6", ["inspect", "--include-system-env-vars", stormScript("join-storm").path], {
        env: { ...process.env, LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s", STORM_HOLD_MAX_S: "90" },
        stdio: "pipe",
      }),
    ).toThrow(/STORM_HOLD_MAX_S must stay under 60/);
  });
});

describe("stormScript", () => {
  it("names a ready-made storm or a script, and refuses what is neither", () => {
    expect(stormScript("churn").path).toMatch(/scenarios\/k6\/churn\.js$/);
    expect(() => stormScript("no-such-storm")).toThrow(
      /use one of join-storm, churn, reconnect, room-service/,
    );
  });
});
