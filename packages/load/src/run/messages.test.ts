import { describe, expect, it } from "vitest";
import { RUN_ENDED, reportedAfterStop } from "./messages.js";

describe("reportedAfterStop", () => {
  it("a join that fails once the worker stops is counted as cut short by the run's end, its engine's words kept", () => {
    expect(
      reportedAfterStop({
        type: "join-failed",
        reason: "browser",
        message: "Protocol error (Runtime.callFunctionOn): Target closed",
      }),
    ).toEqual({
      type: "join-failed",
      reason: RUN_ENDED,
      message: "the run ended before it joined (Protocol error (Runtime.callFunctionOn): Target closed)",
    });
  });

  it("leaves every other event as it is, and a run_ended once", () => {
    const events = [
      { type: "joined", joinS: 0.4 },
      { type: "disconnected", reason: "client_initiated" },
      { type: "join-failed", reason: RUN_ENDED, message: "the run ended before it joined (x)" },
    ] as const;
    for (const event of events) expect(reportedAfterStop(event)).toBe(event);
  });
});
