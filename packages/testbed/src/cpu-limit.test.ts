import { describe, expect, it } from "vitest";
import { coresOfQuota, parseCpuStat, quotaUs } from "./cpu-limit.js";
import { TestbedError } from "./errors.js";

describe("CPU caps", () => {
  it("turns cores into a CFS quota over a 100 ms period", () => {
    expect(quotaUs(0.25)).toBe(25_000);
    expect(quotaUs(1)).toBe(100_000);
    expect(quotaUs(1.5)).toBe(150_000);
  });

  it.each([0, -1, 0.001, Number.NaN, 1000])("refuses %s cores, naming the range", (cores) => {
    expect(() => quotaUs(cores)).toThrow(TestbedError);
    expect(() => quotaUs(cores)).toThrow(/between 0.01 and 256 cores/);
  });

  it("reads a quota back as cores, and no quota (-1) as unlimited", () => {
    expect(coresOfQuota("50000\n", "100000\n")).toBe(0.5);
    expect(coresOfQuota("-1\n", "100000\n")).toBeUndefined();
    expect(coresOfQuota("", "100000")).toBeUndefined();
  });

  it("reads the periods a group was throttled in from cpu.stat", () => {
    expect(parseCpuStat("nr_periods 120\nnr_throttled 96\nthrottled_time 8000000\n")).toEqual({
      periods: 120,
      throttled: 96,
    });
    expect(parseCpuStat("")).toEqual({ periods: 0, throttled: 0 });
  });
});
