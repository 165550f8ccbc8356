import { CommanderError } from "@commander-js/extra-typings";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TOOL, scenarioKeyPaths } from "@livekit-swarm/schema";
import { SCENARIO_OPTIONS } from "./commands/run/scenario-flags.js";
import { UsageError } from "./errors.js";
import { integer, oneLine } from "./flags.js";
import { contradictoryFlags, program, withDefaultCommand } from "./program.js";

/** Parses argv as `swarm` would, without running a command; returns what commander wrote. */
async function parse(argv: readonly string[]): Promise<{ error: unknown; out: string; err: string }> {
  let out = "";
  let err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  let error: unknown;
  try {
    await program(() => {}).parseAsync(withDefaultCommand(argv), { from: "user" });
  } catch (e) {
    error = e;
  }
  vi.restoreAllMocks();
  return { error, out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("withDefaultCommand", () => {
  it("runs a swarm for a bare swarm and for options without a command", () => {
    expect(withDefaultCommand([])).toEqual(["run"]);
    expect(withDefaultCommand(["--rooms", "5"])).toEqual(["run", "--rooms", "5"]);
    expect(withDefaultCommand(["--help"])).toEqual(["--help"]);
    expect(withDefaultCommand(["gate", "--json"])).toEqual(["gate", "--json"]);
    expect(withDefaultCommand(["--version"])).toEqual(["--version"]);
  });
});

describe("--version", () => {
  it("prints the published package's version and nothing else, for -V too", async () => {
    for (const flag of ["--version", "-V"]) {
      const { error, out } = await parse([flag]);
      expect(out).toBe(`${TOOL.version}\n`);
      expect(error).toBeInstanceOf(CommanderError);
      expect(error instanceof CommanderError ? error.exitCode : undefined).toBe(0);
    }
    expect(TOOL.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("flag values", () => {
  it("an integer flag names itself and its range", () => {
    const rooms = integer("run", "rooms", 1, 10_000);
    expect(rooms("12")).toBe(12);
    expect(() => rooms("1e9")).toThrow('run: --rooms: expected an integer from 1 to 10000, got "1e9"');
    expect(() => rooms("ten")).toThrow('run: --rooms: expected an integer, got "ten"');
    expect(() => rooms("1.5")).toThrow(UsageError);
    expect(() => rooms("")).toThrow(UsageError);
    expect(() => rooms("0x10")).toThrow('run: --rooms: expected an integer, got "0x10"');
    expect(() => rooms("0b11")).toThrow(UsageError);
    expect(rooms("1e3")).toBe(1000);
  });

  it("commander's two-line errors become one line with the help to read", () => {
    expect(oneLine("run", "error: unknown option '--romos'\n(Did you mean --rooms?)\n")).toBe(
      "swarm: run: unknown option '--romos' (did you mean --rooms?); see `swarm run --help`\n",
    );
    expect(oneLine("swarm", "error: unknown command 'rnu'\n(Did you mean run?)\n")).toBe(
      "swarm: unknown command 'rnu' (did you mean run?); see `swarm --help`\n",
    );
  });
});

describe("scenario flags", () => {
  it("each sets a key the scenario schema knows, and no two share a flag", () => {
    for (const { key } of SCENARIO_OPTIONS) expect(scenarioKeyPaths).toContain(key);
    const flags = SCENARIO_OPTIONS.map(({ option }) => option.long);
    expect(new Set(flags).size).toBe(flags.length);
    expect(flags).toContain("--video-codec");
    expect(flags).toContain("--no-simulcast");
  });
});

describe("swarm's command line", () => {
  it.each(["", "run", "canary", "gate", "testbed", "chaos"])(
    "swarm %s --help ends with real examples",
    async (name) => {
      const { error, out } = await parse(name === "" ? ["--help"] : [name, "--help"]);
      expect(error).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).exitCode).toBe(0);
      const examples = out.split("\nExamples:\n")[1] ?? "";
      const lines = examples.trimEnd().split("\n");
      expect(lines.length).toBeGreaterThan(1);
      for (const line of lines) expect(line).toMatch(/^ {2}(?:\S.*)?\bswarm\b/);
    },
  );

  it("suggests a command or an option for a misspelt one, in one line, exit 1", async () => {
    const command = await parse(["rnu"]);
    expect((command.error as CommanderError).exitCode).toBe(1);
    expect(command.err).toBe("swarm: unknown command 'rnu' (did you mean run?); see `swarm --help`\n");
    const option = await parse(["--romos", "5"]);
    expect(option.err).toContain("unknown option '--romos' (did you mean --rooms?)");
    const canary = await parse(["canary", "--romo", "x"]);
    expect(canary.err).toContain("swarm: canary: unknown option '--romo' (did you mean --room?)");
  });

  it.each([
    [["run", "fast"], 'run: unexpected argument "fast"'],
    [["--rooms", "1e9"], 'run: --rooms: expected an integer from 1 to 10000, got "1e9"'],
    [["--workers", "0"], 'run: --workers: expected an integer from 1 to 256, got "0"'],
    [["--metrics-port", "65536"], 'run: --metrics-port: expected an integer from 0 to 65535, got "65536"'],
    [["--num-per-second", "0"], 'run: --num-per-second: expected a number from 0.01 to 1000, got "0"'],
    [["--duration", "99999h"], 'run: --duration: expected a duration of at most 168h (a week), got "99999h"'],
    [["--duration", "0"], 'run: --duration: expected a duration from 1ms to 168h, got "0"'],
    [
      ["--stats-interval", "100ms"],
      'run: --stats-interval: expected a duration from 200ms to 1m, got "100ms"',
    ],
    [["--stats-interval", "2m"], 'run: --stats-interval: expected a duration from 200ms to 1m, got "2m"'],
    [["--linger", "1h"], 'run: --linger: expected a duration from 0s to 10m, got "1h"'],
    [["--video-fps", "100000"], 'run: --video-fps: expected an integer from 1 to 60, got "100000"'],
    [["--linger", "soon"], "run: --linger: "],
    [["testbed", "up", "--port", "0"], 'testbed: --port: expected an integer from 1 to 65535, got "0"'],
    [["testbed", "up", "--nodes", "three"], 'testbed: --nodes: expected an integer, got "three"'],
    [
      ["canary", "--metrics-port", "-1"],
      'canary: --metrics-port: expected an integer from 1 to 65535, got "-1"',
    ],
    [["chaos", "run", "a.yaml", "b.yaml"], 'chaos: unexpected argument "b.yaml"'],
  ])("refuses %j: %s", async (argv, message) => {
    const { error } = await parse(argv);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(message);
  });
});

describe("contradictoryFlags", () => {
  it("names a flag given beside its negation, before a --", () => {
    expect(contradictoryFlags(["--simulcast", "--rooms", "2", "--no-simulcast"])).toBe(
      "--simulcast and --no-simulcast were both given; pass one",
    );
    expect(contradictoryFlags(["run", "--no-simulcast", "--simulcast=true"])).toBe(
      "--simulcast and --no-simulcast were both given; pass one",
    );
  });

  it("lets one of them alone pass, and what follows a -- alone", () => {
    expect(contradictoryFlags(["--no-simulcast", "--rooms", "2"])).toBeUndefined();
    expect(contradictoryFlags(["--simulcast", "--", "--no-simulcast"])).toBeUndefined();
  });
});
