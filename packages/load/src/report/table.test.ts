import { describe, expect, it } from "vitest";
import { freezeText, joinFailureLines } from "./table.js";

describe("freezeText", () => {
  it("gives probes' freezes their time and the other tracks' count with 'time unknown'", () => {
    expect(
      freezeText({ freezes: 2, freeze_seconds: 2.048, freeze_measured_windows: 8, freezes_time_unknown: 1 }),
    ).toBe("freezes 1 (2.0 s frozen, on probes), 1 on other tracks (time unknown)");
  });

  it("never prints 0 s where no probe measured: the time is unknown", () => {
    expect(freezeText({ freezes: 3, freezes_time_unknown: 3 })).toBe("freezes 3 (time unknown)");
  });

  it("says nothing without video; a probe that measured no freeze says 0.0 s", () => {
    expect(freezeText({})).toBe("");
    expect(freezeText({ freezes: 0, freeze_seconds: 0, freeze_measured_windows: 4 })).toBe(
      "freezes 0 (0.0 s frozen, on probes)",
    );
  });

  it("says where the freeze time comes from when lean subscribers gave some: frames received, not decoded", () => {
    expect(
      freezeText({
        freezes: 7,
        freeze_seconds: 1.5,
        freeze_measured_windows: 64,
        freeze_measured_windows_lean: 64,
      }),
    ).toBe("freezes 7 (1.5 s frozen, in frames lean received, not decoded)");
    expect(
      freezeText({
        freezes: 9,
        freeze_seconds: 3,
        freeze_measured_windows: 64,
        freeze_measured_windows_lean: 48,
      }),
    ).toBe("freezes 9 (3.0 s frozen, on probes, and in frames lean received, not decoded)");
  });

  it("says Chromium timed a browser run's freezes on every subscriber, not on probes", () => {
    expect(
      freezeText({
        freezes: 2,
        freeze_seconds: 0.6,
        freeze_measured_windows: 10,
        freeze_measured_windows_browser: 10,
      }),
    ).toBe("freezes 2 (0.6 s frozen, on browser subscribers)");
    expect(
      freezeText({
        freezes: 2,
        freeze_seconds: 0.6,
        freeze_measured_windows: 12,
        freeze_measured_windows_browser: 10,
      }),
    ).toBe("freezes 2 (0.6 s frozen, on probes, and on browser subscribers)");
  });
});

describe("joinFailureLines", () => {
  it("counts failures by reason, most first; nothing when every join succeeded", () => {
    expect(joinFailureLines({})).toEqual([]);
    expect(joinFailureLines({ unauthorized: 1, timeout: 3 })).toEqual([
      "join failures timeout 3, unauthorized 1",
    ]);
  });

  it("names the fix for joins the run's end overtook", () => {
    const lines = joinFailureLines({ run_ended: 2, timeout: 1 });
    expect(lines[0]).toBe("join failures run_ended 2, timeout 1");
    expect(lines[1]).toMatch(
      /^ {14}run_ended: 2 still joining when the run ended \(.*\); a longer --duration gives them time$/,
    );
    expect(lines).toHaveLength(2);
  });
});
