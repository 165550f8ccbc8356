import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { DescendantsCpu, mainThreadTimes, waitShare } from "./cpu-wait.js";

describe("waitShare", () => {
  it("is the share of runnable time spent waiting, undefined when the thread never ran or was not read", () => {
    expect(waitShare({ cpuNs: 0, waitNs: 0 }, { cpuNs: 100, waitNs: 300 })).toBe(0.75);
    expect(waitShare({ cpuNs: 5, waitNs: 5 }, { cpuNs: 5, waitNs: 5 })).toBeUndefined();
    expect(waitShare(undefined, { cpuNs: 1, waitNs: 1 })).toBeUndefined();
    expect(mainThreadTimes()?.cpuNs).toBeGreaterThan(0);
  });
});

describe("DescendantsCpu", () => {
  it("counts the CPU a child process used, which process.cpuUsage() does not see", async () => {
    const tracker = new DescendantsCpu();
    expect(tracker.sample()).toBe(0);
    // a child that spends 300 ms of CPU (not of wall time: a busy machine only makes it slower),
    // then says so and idles until killed
    const child = spawn(
      process.execPath,
      [
        "-e",
        "const t=()=>{const u=process.cpuUsage();return (u.user+u.system)/1000};while(t()<300){} process.stdout.write('spent\\n'); setTimeout(()=>{},60000)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await once(child.stdout, "data");
      const used = tracker.sample() ?? 0;
      // /proc counts in 10 ms ticks, and the child's start-up CPU comes on top
      expect(used).toBeGreaterThanOrEqual(0.28);
      expect(tracker.sample()).toBeLessThan(0.1);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
