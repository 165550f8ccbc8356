import { describe, expect, it } from "vitest";
import { CommanderError } from "@commander-js/extra-typings";
import { BenchError } from "./errors.js";
import { benchCommand, overrideFlags, resolveOptions } from "./options.js";

function parse(argv: string[]) {
  const command = benchCommand()
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  command.parse(argv, { from: "user" });
  return resolveOptions(command.opts(), "/repo");
}

describe("bench options", () => {
  it("defaults to the full run: 60 s hold, every workload, their own series, bench/", () => {
    const o = parse([]);
    expect(o).toMatchObject({ quick: false, holdS: 60, rooms: undefined, retries: 1, outDir: "/repo/bench" });
    expect(o.workloads.map((w) => w.name)).toEqual(["audio", "video", "video-simulcast"]);
    // 720p only when named
    expect(parse(["--workload", "video-720p"]).workloads.map((w) => w.name)).toEqual(["video-720p"]);
    expect(o.engine).toEqual({});
    expect(o.dryRun).toBe(false);
  });

  it("shortens the hold with --quick unless --hold says otherwise", () => {
    expect(parse(["--quick"]).holdS).toBe(20);
    expect(parse(["--quick", "--hold", "30"]).holdS).toBe(30);
  });

  it("types room counts, workloads and engine overrides once", () => {
    const overrides = ["--engine", "lean", "--stats-interval", "30s", "--workers", "2"];
    const o = parse(["--workload", "video", "--rooms", "1, 4", ...overrides]);
    expect(o.workloads.map((w) => w.name)).toEqual(["video"]);
    expect(o.rooms).toEqual([1, 4]);
    expect(o.engine).toEqual({ name: "lean", statsIntervalMs: 30_000, workers: 2 });
    expect(overrideFlags(o.engine)).toEqual(overrides);
  });

  it("passes a network profile and E2EE through to the points and the results' flags", () => {
    const o = parse(["--workload", "audio", "--rooms", "2", "--network", "turn-only", "--e2ee"]);
    expect(o.engine).toEqual({ network: "turn-only", e2ee: true });
    expect(overrideFlags(o.engine)).toEqual(["--network", "turn-only", "--e2ee"]);
    expect(parse(["--network", "udp-blocked"]).engine).toEqual({ network: "udp-blocked" });
  });

  it("takes tcp-only for browser participants only: TURN over TLS is their only way out", () => {
    expect(parse(["--network", "tcp-only", "--engine", "browser"]).engine).toEqual({
      name: "browser",
      network: "tcp-only",
    });
    expect(() => parse(["--network", "tcp-only"])).toThrow(
      /--network tcp-only: only TURN over TLS gets out of it, and only browser participants trust the testbed's certificate \(docs\/transport.md\): add --engine browser/,
    );
  });

  it("refuses E2EE on an engine that cannot encrypt, naming the fix", () => {
    expect(() => parse(["--e2ee", "--engine", "lean"])).toThrow(
      /--e2ee: the bench encrypts with the native engine only, not lean: drop --engine, or drop --e2ee/,
    );
    expect(parse(["--e2ee", "--engine", "native"]).engine).toEqual({ name: "native", e2ee: true });
  });

  it("rejects bad values with the flag's name and what was expected", () => {
    const bad: [string[], RegExp][] = [
      [["--hold", "5x"], /--hold <seconds>.*expected a whole number, got "5x"/],
      [["--rooms", "0"], /room counts start at 1/],
      [["--workload", "screen"], /unknown workload "screen"; known: audio, video/],
      [["--stats-interval", "100ms"], /too short; 200ms is the least/],
      [["--workers", "0"], /at least 1 worker/],
      [["--network", "open"], /--network <profile>.*Allowed choices are udp-blocked, tcp-only, turn-only/],
      [["--swarm-args", "x"], /unknown option '--swarm-args'/],
    ];
    for (const [argv, message] of bad) {
      let caught: unknown;
      try {
        parse(argv);
      } catch (err) {
        caught = err;
      }
      expect(caught, argv.join(" ")).toBeInstanceOf(CommanderError);
      expect((caught as CommanderError).message).toMatch(message);
    }
  });

  it("refuses a hold too short to average over stats windows", () => {
    expect(() => parse(["--hold", "5"])).toThrow(BenchError);
    expect(() => parse(["--hold", "5"])).toThrow(/10 is the least/);
  });
});
