import { afterEach, describe, expect, it, vi } from "vitest";
import { LoadReport } from "./load-report.js";
import type { WorkerMessage } from "./messages.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("LoadReport: a worker's own load, from its plan on", () => {
  it("flags the windows that began while its engines loaded, then the running worker's, and stops", () => {
    vi.useFakeTimers();
    const sent: WorkerMessage[] = [];
    const report = new LoadReport(3, 1000, (m) => sent.push(m));
    vi.advanceTimersByTime(2000);
    // ready mid-window: that window began while loading, so it is still a starting one
    vi.advanceTimersByTime(500);
    report.ready();
    vi.advanceTimersByTime(1500);
    report.stop();
    vi.advanceTimersByTime(5000);
    const windows = sent.map((m) => (m.type === "load" ? m.window : undefined));
    expect(windows.map((w) => w?.starting)).toEqual([true, true, true, undefined]);
    expect(windows.map((w) => w?.worker)).toEqual([3, 3, 3, 3]);
    for (const w of windows) {
      expect(w?.windowMs).toBe(1000);
      expect(w?.cpuCores).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(w?.eventLoop)).toBe(true);
    }
  });
});
