import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { haproxyConfig, tokenTag } from "./configs.js";
import { checkTestbedName, runDirFor } from "./state.js";

const root = mkdtempSync(join(tmpdir(), "lkswarm-state-test-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("testbed names", () => {
  it.each(["default", "tb-1", "a", "drill_3.b", "X".repeat(64)])("accepts %j", (name) => {
    expect(runDirFor(name, root)).toBe(join(root, name));
  });

  it.each([
    "",
    ".",
    "..",
    "../x",
    "a/../../b",
    "/etc",
    "a/b",
    "-rf",
    ".hidden",
    "a..b",
    "x".repeat(65),
    "name with space",
    "tab\tname",
    "new\nline",
    "nul\u0000byte",
    "é",
  ])("refuses %j before touching the file system", (name) => {
    expect(() => runDirFor(name, root)).toThrow(
      /^testbed name .* (is|contains|starts with) .*: use 1 to 64 letters/,
    );
    let reason: unknown;
    try {
      checkTestbedName(name);
    } catch (err) {
      reason = (err as { reason?: unknown }).reason;
    }
    expect(reason).toBe("bad-name");
  });

  it("truncates a long name it echoes", () => {
    expect(() => checkTestbedName("/".repeat(10_000))).toThrow(
      /^testbed name "\/{40}\.\.\." is 10000 characters long/,
    );
  });

  it.each([
    ["a..b", 'testbed name "a..b" contains "..": use'],
    ["", 'testbed name "" is empty: use'],
    ["a/b", 'testbed name "a/b" contains "/": use'],
    [".hidden", 'testbed name ".hidden" starts with ".": use'],
    ["x".repeat(65), "is 65 characters long: use"],
    ["new\nline", 'testbed name "new\\nline" contains "\\n": use'],
    ["evil\u202egnp.exe", 'testbed name "evil\\u{202e}gnp.exe" contains "\\u{202e}": use'],
    ["é", 'testbed name "\\u{e9}" contains "\\u{e9}": use'],
  ])("says what is wrong with %j", (name, says) => {
    expect(() => checkTestbedName(name)).toThrow(says);
  });
});

describe("balancer log", () => {
  const config = haproxyConfig({
    listenPort: 1,
    statsPort: 2,
    backends: [{ name: "n1", ip: "127.0.0.1", port: 3 }],
  });

  it("logs a hash of the token, never the request's query string or headers", () => {
    expect(config).toContain("%HPO");
    expect(config).not.toMatch(/%\{\+Q\}r|%r\b|%HU|%HQ/);
    expect(config).toContain("sha2(256),bytes(0,8),hex");
  });

  it("listens on loopback, and on the addresses given besides (client namespaces reach it there)", () => {
    expect(config.match(/^ +bind .*$/gm)).toEqual(["    bind 127.0.0.1:1", "    bind 127.0.0.1:2"]);
    const reachable = haproxyConfig({
      listenPort: 1,
      listenHosts: ["127.0.0.1", "10.201.7.1"],
      statsPort: 2,
      backends: [{ name: "n1", ip: "127.0.0.1", port: 3 }],
    });
    // the stats page stays on loopback
    expect(reachable.match(/^ +bind .*$/gm)).toEqual([
      "    bind 127.0.0.1:1",
      "    bind 10.201.7.1:1",
      "    bind 127.0.0.1:2",
    ]);
  });

  it("names a token by the first 8 bytes of its SHA-256", () => {
    // sha256("abc.def.ghi") starts 6559e90b5dd57405: what HAProxy 2.6 logged for that token here
    expect(tokenTag("abc.def.ghi")).toBe("6559E90B5DD57405");
  });
});
