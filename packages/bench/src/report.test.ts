import { describe, expect, it } from "vitest";
import type { Point } from "./figures.js";
import {
  fmt,
  generatorServerRatio,
  markdownSection,
  pct,
  pointLine,
  pointsTable,
  ratioCell,
  statsIntervalOf,
  threadTable,
  type BenchRecord,
} from "./report.js";

function point(over: Partial<Point> = {}): Point {
  return {
    workload: "audio",
    rooms: 10,
    participants: 50,
    attempt: 0,
    workers: 1,
    windowS: 60,
    joined: 50,
    tracks: { expected: 40, receiving: 40 },
    inboundKbpsPerTrack: 98.8,
    lossP95: 0,
    lossRatio: { audio: 0, video: null },
    generator: {
      cpuS: 20,
      cores: 20 / 60,
      cpuPerPMin: 0.4,
      byRole: { orchestrator: { cpuS: 0.2, cpuPerPMin: 0.004 }, worker: { cpuS: 19.8, cpuPerPMin: 0.396 } },
    },
    server: { cpuS: 7.5, cores: 0.125, cpuPerPMin: 0.15 },
    rss: { totalMiB: 250, perParticipantMiB: 5 },
    pss: { totalMiB: 150, perParticipantMiB: 3 },
    otherCores: 0.01,
    stealCores: 0,
    keptUp: true,
    saturated: false,
    reasons: [],
    threads: [
      { role: "worker", thread: "network_thread", threads: 1, cpuS: 10 },
      { role: "worker", thread: "main (JS)", threads: 1, cpuS: 9.7 },
      { role: "worker", thread: "rtc-low-prio", threads: 3, cpuS: 0.05 },
      { role: "orchestrator", thread: "main (JS)", threads: 1, cpuS: 0.2 },
    ],
    outDir: "/tmp/audio-10r",
    ...over,
  };
}

const record: BenchRecord = {
  startedAt: "2026-11-22T21:00:05.000Z",
  kind: "partial",
  holdS: 60,
  swarmArgs: [],
  machine: {
    cores: 2,
    cpu: "AMD EPYC",
    memoryGiB: 23.5,
    kernel: "6.18",
    node: "v20.20.2",
    livekitServer: "1.13.5",
    commit: "abc1234",
  },
  workloads: [{ name: "audio", title: "audio-only rooms", points: [point()] }],
  tookS: 125,
};

describe("results rendering", () => {
  it("formats missing figures as a dash", () => {
    expect(fmt(undefined)).toBe("-");
    expect(fmt(Number.NaN)).toBe("-");
    expect(fmt(0.4567, 3)).toBe("0.457");
    expect(pct(0.0123)).toBe("1.23%");
    expect(pct(null)).toBe("-");
  });

  it("renders one row per point, in results.md's columns (PSS beside RSS since the browser layouts)", () => {
    const table = pointsTable([
      point(),
      point({
        rooms: 20,
        attempt: 1,
        otherCores: 0.3,
        keptUp: false,
        saturated: true,
        reasons: ["80/80 joined", "loss p95 3.0%"],
      }),
    ]).split("\n");
    expect(table[0]).toMatch(/^\| rooms \| participants \| workers \| generator CPU-s\/p-min \|/);
    expect(table[0]).toContain("| server CPU-s/p-min | generator/server CPU | RSS MiB/participant |");
    expect(table[0]?.split("|").length).toBe(19);
    expect(table[1]?.split("|").length).toBe(19);
    // generator 20 CPU-s against the server's 7.5 in the same window: 2.67x
    expect(table[2]).toBe(
      "| 10 | 50 | 1 | **0.400** | 0.004 | 0.33 | 0.150 | 2.67x | 5.0 | 3.0 | 50/50 | - | 40/40 | 99 | 0.00% | 0.01 | yes |",
    );
    expect(table[3]).toMatch(/\| 0\.30 \(retry 1\) \| no: 80\/80 joined; loss p95 3\.0% \|$/);
  });

  it("gives the generator's CPU over the server's only where the server's is known and not zero", () => {
    expect(generatorServerRatio(point())).toBeCloseTo(20 / 7.5, 10);
    expect(generatorServerRatio(point({ server: { cpuS: 80, cores: 80 / 60, cpuPerPMin: 1.6 } }))).toBe(0.25);
    expect(generatorServerRatio(point({ server: undefined }))).toBeUndefined();
    expect(generatorServerRatio(point({ generator: undefined }))).toBeUndefined();
    expect(generatorServerRatio(point({ server: { cpuS: 0, cores: 0, cpuPerPMin: 0 } }))).toBeUndefined();
    expect(ratioCell(undefined)).toBe("-");
    expect(ratioCell(0.2449)).toBe("0.24x");
  });

  it("names each point's media paths with their joined participants", () => {
    const row = (paths: Point["paths"]) =>
      pointsTable([point(paths === undefined ? {} : { paths })]).split("\n")[2];
    expect(row({ "turn-only turn-udp": 10 })).toContain("| 50/50 | turn-only turn-udp 10 | 40/40 |");
    expect(row({ "udp-blocked tcp": 8, "udp-blocked none": 2 })).toContain(
      "| udp-blocked tcp 8, udp-blocked none 2 |",
    );
    expect(row({})).toContain("| 50/50 | none | 40/40 |");
  });

  it("folds small worker threads into one row and totals the processes", () => {
    const rows = threadTable(point()).split("\n");
    expect(rows[2]).toBe("| network_thread | 1 | 10.00 | 50.00% | 0.200 |");
    expect(rows).toContain("| other (rtc-low-prio) | 3 | 0.05 | 0.25% | 0.001 |");
    // the worker role's 19.8 CPU-s minus 19.75 seen in threads: 0.05 unseen
    expect(rows).toContain("| threads that began and ended between 1 s polls | - | 0.05 | 0.25% | 0.001 |");
    expect(rows.at(-1)).toBe("| *orchestrator process (all threads)* | 1 | 0.20 | 1.00% | 0.004 |");
  });

  it("writes a dated section with the machine, the tables, saturation and the target's verdict", () => {
    const md = markdownSection(record);
    expect(md).toMatch(/^\n## 2026-11-22 21:00 UTC - partial run, 60 s measured per point\n/);
    expect(md).toContain(
      "Machine: 2 cores (AMD EPYC), 23.5 GiB, Linux 6.18; Node v20.20.2; livekit-server 1.13.5",
    );
    expect(md).toContain("Took 2 min.");
    expect(md).toContain("stats every 5 s, no AudioStream/VideoStream consumers, default worker count.");
    expect(md).toContain("### audio-only rooms\n\n| rooms |");
    expect(md).toContain("No saturation within the room counts run.");
    expect(md).toContain(
      "### Where the time goes: audio, 10 rooms (50 participants, 1 worker process(es), 60.0 s window)",
    );
    expect(md).toContain("**met** - 0.400 CPU-s/p-min (-11% vs 0.45).");
  });

  it("gives an A/B run no verdict and names its flags", () => {
    const md = markdownSection({ ...record, swarmArgs: ["--stats-interval", "30s"] });
    expect(md).toContain("stats every 30 s");
    expect(md).toContain("extra swarm flags: `--stats-interval 30s`.");
    expect(md).toContain("no verdict on the target.");
    expect(statsIntervalOf(["--stats-interval", "500ms"])).toBe(500);
    expect(statsIntervalOf([])).toBe(5_000);
  });

  it("says where the server listened: loopback, or a --network run's namespace link", () => {
    expect(markdownSection(record)).toContain("(1 node, loopback, beside the generator)");
    const md = markdownSection({ ...record, swarmArgs: ["--network", "turn-only", "--e2ee"] });
    expect(md).toContain(
      "(1 node, clients in a turn-only network namespace, server on its veth, beside the generator)",
    );
    expect(md).toContain("extra swarm flags: `--network turn-only --e2ee`.");
  });

  it("says where a workload saturated", () => {
    const sat = point({ rooms: 40, saturated: true, keptUp: false, reasons: ["45/159 tracks receiving"] });
    const md = markdownSection({
      ...record,
      workloads: [{ name: "audio", title: "t", points: [point(), sat] }],
    });
    expect(md).toContain("Saturation at 40 rooms (45/159 tracks receiving).");
  });

  it("prints a point on one console line with why it did not keep up", () => {
    expect(pointLine(point())).toBe(
      "audio 10 room(s), 50 participants: 0.400 CPU-s/p-min (0.33 cores), server 0.150 (generator/server 2.67x), RSS 5.0 MiB/p, PSS 3.0 MiB/p, loss p95 0.00%, other load 0.01 cores",
    );
    expect(pointLine(point({ keptUp: false, reasons: ["1 reconnect(s)"] }))).toMatch(
      / - did not keep up: 1 reconnect\(s\)$/,
    );
  });
});
