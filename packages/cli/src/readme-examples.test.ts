import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { parseThreshold } from "@livekit-swarm/gate";
import { SCENARIO_OPTIONS } from "./commands/run/scenario-flags.js";
import { program, withDefaultCommand } from "./program.js";
import { resolveScenario } from "./session/scenario.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const COMMANDS = program(() => {}).commands.map((c) => c.name());

/** Every README.md of the repository and every markdown file under docs/. */
function documents(): string[] {
  const readmes = ["", ...readdirSync(join(ROOT, "packages")).map((p) => join("packages", p))]
    .map((dir) => join(ROOT, dir, "README.md"))
    .filter((file) => {
      try {
        readFileSync(file);
        return true;
      } catch {
        return false;
      }
    });
  const docs = readdirSync(join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(ROOT, "docs", f));
  return [...readmes, ...docs];
}

/** Shell words: quotes and backslashes as sh reads them; `#` starts a comment outside quotes. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word = (word ?? "") + line.charAt(++i);
      else word = (word ?? "") + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < line.length) word = (word ?? "") + line.charAt(++i);
    else if (c === "#" && word === undefined) break;
    else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

interface Example {
  readonly where: string;
  readonly line: string;
  /** The arguments after `swarm`. */
  readonly argv: readonly string[];
}

/** The swarm invocations of one shell line: after env assignments, `sudo` and `npx`; also inside $(...). */
function invocations(line: string): string[][] {
  const inner = [...line.matchAll(/\$\(([^)]*)\)/g)].flatMap((m) => invocations(m[1] ?? ""));
  const outer = line
    .replace(/\$\(([^)]*)\)/g, "X")
    .split(/&&|\|\||;|\|/)
    .map((segment) => {
      const words = shellWords(segment);
      while (/^[A-Z_]+=/.test(words[0] ?? "") || words[0] === "sudo" || words[0] === "npx") words.shift();
      return words;
    })
    .filter((words) => words[0] === "swarm")
    .map((words) => words.slice(1));
  return [...inner, ...outer];
}

/**
 * Every `swarm ...` command of the documentation: lines of fenced code blocks (backslash
 * continuations joined, comments dropped) and inline code spans that start with `swarm` or
 * `npx swarm`. A span with a `<placeholder>` or `...` is a template, and `swarm` or `swarm gate`
 * alone names a command in prose: neither is an example, and both are left out.
 */
function examples(): Example[] {
  const found: Example[] = [];
  for (const file of documents()) {
    const lines = readFileSync(file, "utf8").split("\n");
    let fenced = false;
    let pending = "";
    lines.forEach((text, i) => {
      const where = `${relative(ROOT, file)}:${i + 1}`;
      if (text.trimStart().startsWith("```")) {
        fenced = !fenced;
        return;
      }
      if (fenced) {
        if (text.trimEnd().endsWith("\\")) {
          pending += `${text.trimEnd().slice(0, -1)} `;
          return;
        }
        const line = pending + text;
        pending = "";
        for (const argv of invocations(line)) found.push({ where, line: line.trim(), argv });
        return;
      }
      for (const [, span = ""] of text.matchAll(/`((?:npx |sudo )*swarm(?: [^`]*)?)`/g)) {
        if (/<[^>]*>|\.\.\./.test(span)) continue;
        for (const argv of invocations(span)) {
          const [first, ...rest] = argv;
          if (rest.length === 0 && (first === undefined || COMMANDS.includes(first))) continue;
          found.push({ where, line: span, argv });
        }
      }
    });
  }
  return found;
}

/** What parsing `swarm <argv>` left for the action: the command and its values, nothing run. */
interface Parsed {
  readonly command: CommandUnknownOpts;
  readonly extra: readonly string[];
}

/** Parses argv as the CLI does (every flag's own checks included) with each action replaced. */
async function dryParse(argv: readonly string[]): Promise<Parsed | "help"> {
  const root = program(() => {});
  let parsed: Parsed | undefined;
  for (const command of root.commands) {
    command.action(() => {
      parsed = { command, extra: command.args.slice(command.registeredArguments.length) };
    });
  }
  const out = process.stdout.write.bind(process.stdout);
  const quiet = (): boolean => true;
  process.stdout.write = quiet;
  try {
    await root.parseAsync(withDefaultCommand(argv), { from: "user" });
  } catch (err) {
    // --help ends parsing with exit code 0
    if (err instanceof Error && "exitCode" in err && err.exitCode === 0) return "help";
    throw err;
  } finally {
    process.stdout.write = out;
  }
  if (parsed === undefined) throw new Error(`nothing parsed ${argv.join(" ")}`);
  return parsed;
}

const EXAMPLES = examples();

describe("every swarm example in the READMEs and docs/ is accepted by the command line", () => {
  it("finds the examples (the extraction itself works)", () => {
    expect(EXAMPLES.length).toBeGreaterThan(20);
    const lines = EXAMPLES.map((e) => e.argv.join(" "));
    expect(lines).toContain("testbed env");
    expect(lines).toContain("chaos run chaos/kill-room-node.yaml --dry-run");
    expect(lines.some((l) => l.includes("--threshold lkswarm_join_duration_seconds p99 < 2s"))).toBe(true);
  });

  it.each(EXAMPLES.map((e) => [`${e.where}: swarm ${e.argv.join(" ")}`, e] as const))(
    "%s",
    async (_, example) => {
      const parsed = await dryParse(example.argv);
      if (parsed === "help") return;
      expect(parsed.extra, `unexpected arguments in: ${example.line}`).toEqual([]);
      if (parsed.command.name() !== "run") return;
      // a run's scenario (file and flags) and thresholds are checked as the run would, before starting
      const keys = new Map<string, unknown>();
      for (const { key, option } of SCENARIO_OPTIONS) {
        const value = parsed.command.getOptionValue(option.attributeName());
        if (value !== undefined) keys.set(key, value);
      }
      const opts = parsed.command.opts();
      const scenario = typeof opts.scenario === "string" ? join(ROOT, opts.scenario) : undefined;
      await resolveScenario(scenario, keys);
      const thresholds: unknown = opts.threshold;
      for (const t of Array.isArray(thresholds) ? thresholds : []) parseThreshold(String(t));
    },
  );
});

describe("shellWords", () => {
  it("reads quotes, escapes and comments as sh does", () => {
    expect(shellWords(`swarm --threshold "a < 2s" --x 'b # c' d\\ e # comment`)).toEqual([
      "swarm",
      "--threshold",
      "a < 2s",
      "--x",
      "b # c",
      "d e",
    ]);
  });
});
