import { parseArgs } from "node:util";

/** One CLI option: the same entry drives parsing, validation and the --help text. */
export interface OptionSpec {
  readonly name: string;
  readonly type: "string" | "integer" | "number" | "boolean" | "strings";
  readonly description: string;
  readonly short?: string;
  /** Environment variable read when the flag is absent (LIVEKIT_URL and friends). */
  readonly env?: string;
  readonly default?: string | number | boolean;
  /** Shown as the value's placeholder in --help. */
  readonly placeholder?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  readonly examples: readonly string[];
}

export type OptionValues = Record<string, string | number | boolean | string[] | undefined>;

/** Bad command-line input; the CLI prints the message and exits 1. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly reason = "usage";
  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}

const HELP: OptionSpec = { name: "help", short: "h", type: "boolean", description: "show this help" };

export function parseOptions(
  spec: CommandSpec,
  argv: readonly string[],
): { values: OptionValues; positionals: string[] } {
  const all = [...spec.options, HELP];
  const config = Object.fromEntries(
    all.map((o) => [
      o.name,
      {
        type: o.type === "boolean" ? ("boolean" as const) : ("string" as const),
        ...(o.type === "strings" ? { multiple: true } : {}),
        ...(o.short !== undefined ? { short: o.short } : {}),
      },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new UsageError(`${spec.name}: ${message ?? ""}; see \`swarm ${spec.name} --help\``);
  }
  const values: OptionValues = {};
  for (const o of all) {
    // an empty environment variable is unset, as in every LiveKit tool
    const fromEnv = o.env !== undefined && process.env[o.env] !== "" ? process.env[o.env] : undefined;
    const raw = parsed.values[o.name] ?? fromEnv;
    if (raw === undefined) {
      values[o.name] = o.default;
      continue;
    }
    values[o.name] = convert(spec.name, o, raw);
  }
  return { values, positionals: parsed.positionals };
}

function convert(
  command: string,
  o: OptionSpec,
  raw: string | boolean | (string | boolean)[],
): OptionValues[string] {
  if (o.type === "boolean") return raw === true || raw === "true" || raw === "1";
  if (o.type === "strings") return (Array.isArray(raw) ? raw : [raw]).map(String);
  const text = String(raw);
  if (o.type === "string") return text;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || (o.type === "integer" && !Number.isInteger(n))) {
    throw new UsageError(
      `${command}: --${o.name}: expected ${o.type === "integer" ? "an integer" : "a number"}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}

export function helpText(spec: CommandSpec): string {
  const rows = [...spec.options, HELP].map((o) => {
    const flag = `${o.short !== undefined ? `-${o.short}, ` : "    "}--${o.name}${o.type === "boolean" ? "" : ` <${o.placeholder ?? o.type}>`}`;
    const extra = [
      o.default !== undefined ? `default ${String(o.default)}` : "",
      o.env !== undefined ? `env ${o.env}` : "",
    ].filter((s) => s !== "");
    return [flag, `${o.description}${extra.length > 0 ? ` (${extra.join("; ")})` : ""}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `Usage: ${spec.usage}`,
    "",
    spec.summary,
    "",
    "Options:",
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    "",
    "Examples:",
    ...spec.examples.map((e) => `  ${e}`),
    "",
  ].join("\n");
}
