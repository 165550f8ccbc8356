import { describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, formatPath, problemAt, readConfigText, readFailure, readYaml } from "./config.js";
import { parseDrill } from "./drill/index.js";
import { parseScenario } from "./scenario.js";

function caught(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("formatPath", () => {
  it("writes keys with dots and list indices in brackets", () => {
    expect(formatPath(["faults", 2, "target", "node"])).toBe("faults[2].target.node");
    expect(formatPath([])).toBe("");
  });
});

describe("ConfigError", () => {
  it("holds one line per problem, and the same problems as file, path and message", () => {
    const error = new ConfigError("invalid", "x.yaml", [
      problemAt("x.yaml", ["video", "codec"], 'expected one of vp8, h264, vp9, av1, got "vp7"'),
      problemAt("x.yaml", [], "no participants"),
    ]);
    expect(error.problems).toEqual([
      'x.yaml: video.codec: expected one of vp8, h264, vp9, av1, got "vp7"',
      "x.yaml: no participants",
    ]);
    expect(error.message).toBe(error.problems.join("\n"));
    expect(error.issues[0]).toEqual({
      file: "x.yaml",
      at: "x.yaml",
      path: "video.codec",
      keys: ["video", "codec"],
      message: 'expected one of vp8, h264, vp9, av1, got "vp7"',
    });
  });

  it("is what scenarios and drills both throw", () => {
    const scenario = caught(() => parseScenario("rooms: ten", "s.yaml"));
    const drill = caught(() => parseDrill("name: Bad", "d.yaml", { env: {} }));
    expect(scenario.name).toBe("ConfigError");
    expect(drill.name).toBe("ConfigError");
    expect(drill.issues.map((issue) => issue.path)).toEqual(["name", "workload", "faults"]);
  });

  it("names the line and column of a syntax error, with no key path", () => {
    const error = caught(() => parseScenario("rooms: 1\nrooms: 2\n", "s.yaml"));
    expect(error.reason).toBe("syntax");
    expect(error.issues).toEqual([
      { file: "s.yaml", at: "s.yaml:2:1", path: "", keys: [], message: "Map keys must be unique" },
    ]);
  });
});

describe("readYaml", () => {
  it("reads JSON, which is YAML", () => {
    expect(readYaml('{"rooms": 2}', "s.json")).toEqual({ value: { rooms: 2 } });
  });

  const messages = (r: ReturnType<typeof readYaml>): string[] =>
    "problems" in r ? r.problems.map((p) => p.message) : [];

  it("calls a binary file binary in one problem (200 KB of random bytes printed 397 KB of the parser's complaints)", () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    expect(messages(readYaml(bytes.toString("utf8"), "bin.yaml"))).toEqual([
      expect.stringMatching(/^is binary data \(\d+ characters\), not YAML: pass the text file$/),
    ]);
  });

  it("lists the first 5 syntax problems and counts the rest, each cut and escaped", () => {
    const text = Array.from({ length: 40 }, (_, i) => `k${i}: [a, b\n  x: "\u001b${"y".repeat(300)}`).join(
      "\n",
    );
    const listed = messages(readYaml(text, "many.yaml"));
    expect(listed).toHaveLength(6);
    expect(listed[5]).toMatch(/^and \d+ more syntax problems$/);
    for (const m of listed) {
      expect(m.length).toBeLessThan(260);
      expect(Array.from(m).some((c) => c < " ")).toBe(false);
    }
  });
});

describe("readConfigText", () => {
  const dir = mkdtempSync(join(tmpdir(), "config-text-"));

  it("reads a file up to 1 MiB", async () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(file, `rooms: 2\n${"#".repeat(1024 * 1024 - 10)}\n`);
    expect((await readConfigText(file)).startsWith("rooms: 2\n")).toBe(true);
  });

  it.each([
    [
      "a file over 1 MiB",
      () => {
        const file = join(dir, "big.yaml");
        writeFileSync(file, "#".repeat(1024 * 1024 + 1));
        return file;
      },
      "is larger than 1 MiB, too large for a configuration file",
    ],
    [
      "a device that never ends",
      () => "/dev/zero",
      "is larger than 1 MiB, too large for a configuration file",
    ],
    ["a folder", () => dir, "is a directory"],
    ["a path through a file", () => join(dir, "ok.yaml", "x"), "a part of the path is not a folder"],
  ])("refuses %s in a few words", async (_, path, why) => {
    const error: unknown = await readConfigText(path()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(readFailure(error)).toBe(why);
  });
});

describe("readConfigText: a named pipe", () => {
  const fifo = (): string => {
    const path = join(mkdtempSync(join(tmpdir(), "fifo-")), "p");
    execFileSync("mkfifo", [path]);
    return path;
  };

  it("gives up on a pipe nobody writes to, in one line, instead of hanging", async () => {
    const path = fifo();
    const error: unknown = await readConfigText(path, 200).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(readFailure(error)).toBe("is a pipe that gave nothing for 10 s: is anything writing to it?");
  });

  it("reads a pipe whose writer comes late, to its end", async () => {
    const path = fifo();
    // another process, as `<(...)` is: the reader holds this one while it waits (readHeadSync)
    const writer = spawn("sh", ["-c", 'sleep 0.3; printf "rooms: 2\\n" > "$0"', path], { stdio: "ignore" });
    try {
      expect(await readConfigText(path, 5000)).toBe("rooms: 2\n");
    } finally {
      writer.kill();
    }
  });
});
