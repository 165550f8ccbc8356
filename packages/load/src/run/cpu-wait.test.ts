import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpuThrottling, DescendantsCpu, cpuStatPaths, mainThreadTimes, waitShare } from "./cpu-wait.js";

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

describe("cpuStatPaths", () => {
  it("walks a cgroup v1 cpu group up to the root, under the controller's own mount", () => {
    const v1 = "9:name=systemd:/\n4:memory:/x\n2:cpu,cpuacct:/kubepods/pod1/c2\n0::/";
    expect(cpuStatPaths(v1, "/cg")).toEqual([
      "/cg/cpu,cpuacct/kubepods/pod1/c2/cpu.stat",
      "/cg/cpu,cpuacct/kubepods/pod1/cpu.stat",
      "/cg/cpu,cpuacct/kubepods/cpu.stat",
      "/cg/cpu,cpuacct/cpu.stat",
    ]);
    // this machine's layout: cpu alone, the process in the root group
    expect(cpuStatPaths("2:cpuacct:/\n1:cpu:/\n0::/", "/cg")).toEqual(["/cg/cpu/cpu.stat"]);
  });

  it("reads cgroup v2's unified hierarchy when no v1 cpu controller is there, and nothing without either", () => {
    expect(cpuStatPaths("0::/system.slice/x.service\n", "/cg")).toEqual([
      "/cg/system.slice/x.service/cpu.stat",
      "/cg/system.slice/cpu.stat",
      "/cg/cpu.stat",
    ]);
    expect(cpuStatPaths("", "/cg")).toEqual([]);
    expect(cpuStatPaths("4:memory:/x", "/cg")).toEqual([]);
  });
});

describe("CpuThrottling", () => {
  it("gives the worst share of active periods the quota ran out in since the last call, over the group and its parents", () => {
    const root = mkdtempSync(join(tmpdir(), "throttle-"));
    mkdirSync(join(root, "cpu", "pod", "c"), { recursive: true });
    const stat = (dir: string, periods: number, throttled: number): void => {
      writeFileSync(join(root, "cpu", dir, "cpu.stat"), `nr_periods ${periods}\nnr_throttled ${throttled}\n`);
    };
    stat("", 0, 0);
    stat("pod", 100, 10);
    stat("pod/c", 100, 0);
    const t = new CpuThrottling("1:cpu:/pod/c", root);
    // the pod's quota (a parent's) ran out in 30 of its 50 new periods; the container's own in 5 of 50
    stat("pod", 150, 40);
    stat("pod/c", 150, 5);
    expect(t.sample()).toBeCloseTo(0.6, 9);
    // idle since: no period, no figure
    expect(t.sample()).toBeUndefined();
    expect(new CpuThrottling("", root).sample()).toBeUndefined();
  });
});
