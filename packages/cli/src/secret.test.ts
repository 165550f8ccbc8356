import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { apiSecret, e2eeKey, readSecretFile } from "./secret.js";

const dir = mkdtempSync(join(tmpdir(), "swarm-secret-"));
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const SECRET = "a-secret-that-must-never-be-printed-0123456789";

describe("readSecretFile", () => {
  it("reads the one line, dropping a trailing newline (LF or CRLF)", () => {
    expect(readSecretFile("run", file("lf", `${SECRET}\n`))).toBe(SECRET);
    expect(readSecretFile("run", file("crlf", `${SECRET}\r\n`))).toBe(SECRET);
    expect(readSecretFile("run", file("bare", SECRET))).toBe(SECRET);
  });

  it.each<[string, () => string, string]>([
    ["missing", () => join(dir, "nope"), "no such file"],
    ["a folder", () => dir, "is a directory"],
    ["empty", () => file("empty", ""), "is empty"],
    ["only a newline", () => file("newline", "\n"), "is empty"],
    ["binary", () => file("binary", Buffer.from([0xff, 0xfe, 0x00, 0x41])), "is binary, not a line of text"],
    ["with a NUL", () => file("nul", `${SECRET}\u0000x`), "is binary, not a line of text"],
    ["two lines", () => file("two", `${SECRET}\nLIVEKIT_API_KEY=k\n`), "holds more than one line"],
    ["huge", () => file("huge", SECRET.repeat(1000)), "is larger than 4096 bytes"],
    [
      "a symbolic link loop",
      () => {
        symlinkSync(join(dir, "loop-b"), join(dir, "loop-a"));
        symlinkSync(join(dir, "loop-a"), join(dir, "loop-b"));
        return join(dir, "loop-a");
      },
      "is a symbolic link loop",
    ],
  ])("%s: one line naming the file and the fix, never the content", (_, path, problem) => {
    const p = path();
    let message = "";
    try {
      readSecretFile("run", p);
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    expect(message).toBe(
      `run: --api-secret-file ${JSON.stringify(p)}: ${message.split(": ").slice(2).join(": ")}`,
    );
    expect(message).toContain(`: ${problem}`);
    expect(message).toContain("LIVEKIT_API_SECRET");
    expect(message).not.toContain(SECRET.slice(0, 12));
    expect(message).not.toContain("\n");
  });
});

describe("apiSecret", () => {
  const saved = process.env.LIVEKIT_API_SECRET;
  afterEach(() => {
    if (saved === undefined) delete process.env.LIVEKIT_API_SECRET;
    else process.env.LIVEKIT_API_SECRET = saved;
  });

  it("takes the flag (typed: warn), else the file, else the variable", () => {
    process.env.LIVEKIT_API_SECRET = "from-env";
    expect(apiSecret("run", { apiSecret: "typed" })).toEqual({ secret: "typed", typed: true });
    expect(apiSecret("run", { apiSecretFile: file("f", "from-file\n") })).toEqual({
      secret: "from-file",
      typed: false,
    });
    expect(apiSecret("run", {})).toEqual({ secret: "from-env", typed: false });
    process.env.LIVEKIT_API_SECRET = "";
    expect(apiSecret("run", {})).toEqual({ secret: undefined, typed: false });
  });

  it("refuses both the flag and the file", () => {
    expect(() => apiSecret("canary", { apiSecret: "x", apiSecretFile: "y" })).toThrow(
      "canary: --api-secret and --api-secret-file were both given; pass one",
    );
  });
});

describe("e2eeKey", () => {
  const saved = process.env.LKSWARM_E2EE_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.LKSWARM_E2EE_KEY;
    else process.env.LKSWARM_E2EE_KEY = saved;
  });

  it("refuses in LKSWARM_E2EE_KEY the bytes a key file refuses, and takes what a file takes", () => {
    for (const bytes of ["two\nlines", "a\u0007bell"]) {
      process.env.LKSWARM_E2EE_KEY = bytes;
      expect(() => e2eeKey("run", undefined)).toThrow(
        /^run: LKSWARM_E2EE_KEY (holds more than one line|is binary, not a line of text); set it to the key alone \(one line\), or write the key in a file .* and pass --e2ee-key-file$/,
      );
      expect(() => e2eeKey("run", file("k", bytes))).toThrow(/holds more than one line|is binary/);
    }
    process.env.LKSWARM_E2EE_KEY = "one line\n";
    expect(new TextDecoder().decode(e2eeKey("run", undefined))).toBe("one line");
    delete process.env.LKSWARM_E2EE_KEY;
    expect(e2eeKey("run", undefined)).toBeUndefined();
  });
});

describe("readSecretFile: a named pipe", () => {
  it("reads a pipe a writer fills, as --api-secret-file <(vault read ...) gives one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "swarm-fifo-")), "p");
    execFileSync("mkfifo", [path]);
    const writer = spawn("sh", ["-c", `sleep 0.2; printf '%s\\n' '${SECRET}' > '${path}'`]);
    expect(readSecretFile("run", path)).toBe(SECRET);
    writer.kill();
  });
});
