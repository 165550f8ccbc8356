import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseThreshold } from "./threshold.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git", ".tools", "swarm-results"]);

function documents(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...documents(path));
    else if (/\.(md|ya?ml)$/.test(entry.name)) out.push(path);
  }
  return out;
}

/**
 * Quoted text that reads like a threshold: it names a metric (or wraps one in an aggregation, the
 * shape users guess) and compares it with something. Anything of that shape in the documentation is
 * something a reader will paste, so the parser must take it.
 */
const THRESHOLD_LIKE =
  /(["'])((?:[a-z]+\d*\()?(?:lkswarm|livekit)_[a-z_]+[^"'\n]*?(?:<=|>=|==|!=|<|>)[^"'\n]*)\1/g;

function examples(): { where: string; text: string }[] {
  const found: { where: string; text: string }[] = [];
  for (const file of documents(ROOT)) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(THRESHOLD_LIKE)) {
        found.push({ where: `${relative(ROOT, file)}:${i + 1}`, text: m[2] ?? "" });
      }
    });
  }
  return found;
}

describe("threshold examples in the documentation", () => {
  const all = examples();

  it("finds the examples (README, package READMEs, the example workflow)", () => {
    expect(all.length, all.map((e) => e.where).join("\n")).toBeGreaterThanOrEqual(5);
  });

  it.each(all.map((e) => [e.where, e.text]))("%s: %s parses", (_where, text) => {
    expect(() => parseThreshold(text, { allowServerMetrics: text.startsWith("livekit_") })).not.toThrow();
  });
});
