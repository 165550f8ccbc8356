import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { parseThreshold } from "@livekit-swarm/gate";
import { SCENARIO_OPTIONS } from "./commands/run/scenario-flags.js";
import { program, withDefaultCommand } from "./program.js";
import { readyMadeFile } from "./ready-made.js";
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
      // a path from the repository's root, or a ready-made scenario's name
      const scenario =
        typeof opts.scenario === "string"
          ? readyMadeFile(
              "scenarios",
              existsSync(join(ROOT, opts.scenario)) ? join(ROOT, opts.scenario) : opts.scenario,
              "--scenario",
            )
          : undefined;
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

/** Every long option any command (or the root) takes, with its `--no-` form. */
function knownFlags(): Set<string> {
  const flags = new Set(["--help", "--version"]);
  const walk = (command: CommandUnknownOpts): void => {
    for (const option of command.options) {
      if (option.long !== undefined) flags.add(option.long);
      if (option.negate && option.long !== undefined) flags.add(option.long.replace(/^--no-/, "--"));
    }
    for (const sub of command.commands) walk(sub);
  };
  walk(program(() => {}));
  return flags;
}

/**
 * Other tools' flags the documentation names in prose (an inline span that is a flag alone): each
 * with whose it is. Anything else that looks like a flag must be one of swarm's, or of one of our
 * other programs (OURS_ELSEWHERE, checked against its source).
 */
const FOREIGN_FLAGS: Readonly<Record<string, string>> = {
  "--cpus": "docker run",
  "--no-install-recommends": "apt-get",
  "--network": "buildah, and npm run bench (OURS_ELSEWHERE)",
  "--isolation": "buildah",
  "--iptables": "dockerd",
  "--force-rm": "buildah",
  "--profile": "docker compose",
  "--queue-bypass": "iptables NFQUEUE",
  "--trace-gc": "node",
  "--pack-destination": "npm pack",
  // Chromium's command line, as the browser engine launches it (docs/browser-engine.md)
  "--allow-loopback-in-peer-connection": "chromium",
  "--use-file-for-fake-video-capture": "chromium",
  "--use-file-for-fake-audio-capture": "chromium",
  "--use-fake-device-for-media-stream": "chromium",
  "--use-fake-ui-for-media-stream": "chromium",
  "--no-sandbox": "chromium",
  "--host-resolver-rules": "chromium",
  "--disable-dev-shm-usage": "chromium",
  "--user-data-dir": "chromium",
  "--no-first-run": "chromium",
  "--mute-audio": "chromium",
  "--ignore-certificate-errors-spki-list": "chromium",
  "--hide-scrollbars": "chromium",
  "--font-render-hinting": "chromium",
  "--disable-renderer-backgrounding": "chromium",
  "--disable-gpu": "chromium",
  "--disable-features": "chromium",
  "--disable-backgrounding-occluded-windows": "chromium",
  "--disable-background-timer-throttling": "chromium",
  "--autoplay-policy": "chromium",
};

/** Flags of our programs other than `swarm`: the file that must define each. */
const OURS_ELSEWHERE: Readonly<Record<string, string>> = {
  "--kubernetes": "scripts/setup",
  "--demo": "scripts/setup",
  "--purge": "deploy/compose/local.sh",
  "--quick": "packages/bench/src/options.ts",
  "--out": "packages/bench/src/options.ts",
  "--retries": "packages/bench/src/options.ts",
  "--receivers": "packages/bench/src/dgram-floor.ts",
  "--senders": "packages/bench/src/dgram-floor.ts",
  "--write-dependencies": "packages/livekit-swarm/src/bundle.ts",
};

/** Flags named alone in inline code (`--rooms`, `--rooms N`) that no swarm command takes. */
export function unknownFlagsIn(text: string, known: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const [, span = ""] of text.matchAll(/`(--[a-z][a-z0-9-]*)(?:[ =][^`]*)?`/g))
    if (!known.has(span) && !(span in FOREIGN_FLAGS) && !(span in OURS_ELSEWHERE)) found.push(span);
  return found;
}

describe("the documentation is true to the tool", () => {
  const known = knownFlags();

  it("the flags of our other programs that the documentation names are in their sources", () => {
    const missing = Object.entries(OURS_ELSEWHERE).filter(
      ([flag, file]) =>
        !readFileSync(join(ROOT, file), "utf8").includes(
          flag.startsWith("--") && file.endsWith("dgram-floor.ts") ? `${flag.slice(2)}: {` : flag,
        ),
    );
    expect(missing).toEqual([]);
  });

  it("a planted stale flag is caught (the check itself works)", () => {
    expect(unknownFlagsIn("use `--no-such-flag N` or `--rooms 5` and `--cpus`", known)).toEqual([
      "--no-such-flag",
    ]);
  });

  it.each(documents().map((f) => [relative(ROOT, f), f] as const))(
    "%s names only flags swarm takes",
    (_, file) => {
      expect(unknownFlagsIn(readFileSync(file, "utf8"), known)).toEqual([]);
    },
  );

  it("every relative link of the READMEs and docs/ reaches a file", () => {
    const broken: string[] = [];
    for (const file of documents()) {
      for (const [, target = ""] of readFileSync(file, "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = target.split("#")[0] ?? "";
        if (!existsSync(join(dirname(file), path))) broken.push(`${relative(ROOT, file)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("every scenario or drill file the documentation names exists", () => {
    const missing: string[] = [];
    for (const file of documents()) {
      const text = readFileSync(file, "utf8");
      for (const [path = ""] of text.matchAll(/\b(?:scenarios|chaos)\/[a-z0-9/-]+\.(?:yaml|js)\b/g))
        if (!existsSync(join(ROOT, path))) missing.push(`${relative(ROOT, file)}: ${path}`);
    }
    expect(missing).toEqual([]);
  });

  it("the guide's list of ready-made scenarios names every one in scenarios/", () => {
    const guide = readFileSync(join(ROOT, "docs/guide/run.md"), "utf8");
    const list = guide.slice(guide.indexOf("Ready-made scenarios in `scenarios/`"));
    const names = readdirSync(join(ROOT, "scenarios"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.slice(0, -5));
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !list.includes(`\`${n}\``))).toEqual([]);
  });

  it("every exit code is in the README's table and the guide's, and neither has one the tool does not use", async () => {
    const { ExitCode } = await import("@livekit-swarm/schema");
    const codes = Object.values(ExitCode).map(String).sort();
    for (const doc of ["README.md", "docs/guide/health.md"]) {
      const text = readFileSync(join(ROOT, doc), "utf8");
      const table = text.slice(text.indexOf("Exit codes"));
      const rows = [...table.matchAll(/^\| ([0-9, ]+) +\|/gm)].flatMap((m) =>
        (m[1] ?? "").split(",").map((c) => c.trim()),
      );
      expect([...new Set(rows)].sort(), doc).toEqual(codes);
    }
  });

  it("every environment variable the source reads is in docs/environment.md", () => {
    const page = readFileSync(join(ROOT, "docs/environment.md"), "utf8");
    const read = new Set<string>();
    const packages = join(ROOT, "packages");
    for (const pkg of readdirSync(packages)) {
      const src = join(packages, pkg, "src");
      if (!existsSync(src)) continue;
      for (const f of readdirSync(src, { recursive: true, encoding: "utf8" })) {
        if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
        const text = readFileSync(join(src, f), "utf8");
        // read as process.env.X, env.X, env["X"], or named in a string ("X")
        for (const m of text.matchAll(
          /(?:env\.|env\[")((?:LIVEKIT|LKSWARM)_[A-Z0-9_]+)|"((?:LIVEKIT|LKSWARM)_[A-Z0-9_]+)"/g,
        ))
          read.add(m[1] ?? m[2] ?? "");
      }
    }
    // set for the workers, never read from the user: not documented
    const internal = new Set(["LKSWARM_ICE_SCOPE"]);
    expect([...read], "the scan finds the variables").toEqual(
      expect.arrayContaining(["LIVEKIT_URL", "LIVEKIT_SWARM_RUN_ROOT"]),
    );
    expect([...read].filter((n) => !internal.has(n) && !page.includes(`\`${n}`)).sort()).toEqual([]);
  });
});
