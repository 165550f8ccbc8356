import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { labelMatcher, promqlString } from "./promql-string.js";

const HOSTILE = [
  "",
  "plain-run-1",
  'x"} or vector(1) #',
  'a",job=~".+',
  "back\\slash",
  "trailing\\",
  "new\nline",
  "cr\rtab\t",
  "nul\u0000bell\u0007del\u007f",
  "`backtick`",
  "'single'",
  "unicode é 漢字 🎉",
  "}{",
];

/** Reads a literal back the way PromQL's lexer does (Go escapes), for the escapes promqlString writes. */
function unquote(literal: string): string {
  expect(literal.startsWith('"') && literal.endsWith('"')).toBe(true);
  return literal
    .slice(1, -1)
    .replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) =>
      e.startsWith("x")
        ? String.fromCharCode(parseInt(e.slice(1), 16))
        : ({ n: "\n", r: "\r", t: "\t" }[e] ?? e),
    );
}

describe("promqlString", () => {
  it.each(HOSTILE)("round-trips %j and never ends the literal early", (value) => {
    const literal = promqlString(value);
    expect(unquote(literal)).toBe(value);
    // no unescaped quote inside: every quote is preceded by an odd number of backslashes
    expect(literal.slice(1, -1)).not.toMatch(/(^|[^\\])(\\\\)*"/);
    expect(Array.from(literal, (c) => c.charCodeAt(0)).every((code) => code >= 0x20)).toBe(true);
  });

  it("refuses a label name that is not one", () => {
    expect(() => labelMatcher('run_id="x"', "v")).toThrow(/not a Prometheus label name/);
    expect(labelMatcher("run_id", 'a"b')).toBe('run_id="a\\"b"');
  });

  // promtool is installed by scripts/setup; it parses the rule expressions exactly as Prometheus does
  const promtool = (() => {
    try {
      execFileSync("promtool", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.runIf(promtool)("Prometheus parses every hostile matcher as one selector (promtool check rules)", () => {
    const dir = mkdtempSync(join(tmpdir(), "lkswarm-promql-"));
    try {
      const rules = HOSTILE.map(
        (v, i) =>
          `      - record: r${i}\n        expr: ${JSON.stringify(`count(up{${labelMatcher("run_id", v)}})`)}`,
      );
      const file = join(dir, "rules.yaml");
      writeFileSync(file, `groups:\n  - name: hostile\n    rules:\n${rules.join("\n")}\n`);
      const out = execFileSync("promtool", ["check", "rules", file], { encoding: "utf8" });
      expect(out).toContain(`SUCCESS: ${HOSTILE.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
