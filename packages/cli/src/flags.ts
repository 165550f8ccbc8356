import {
  Option,
  type Command,
  type CommandUnknownOpts,
  type OptionValues,
} from "@commander-js/extra-typings";
import { MAX_DURATION, formatDuration, parseDuration, quoted, messageOf } from "@livekit-swarm/schema";
import { UsageError } from "./errors.js";

/** An environment variable; an empty one is unset, as in every LiveKit tool. */
export function fromEnv(
  name: "LIVEKIT_URL" | "LIVEKIT_API_KEY" | "LIVEKIT_API_SECRET" | "LKSWARM_E2EE_KEY",
): string | undefined {
  const value = process.env[name];
  return value === "" ? undefined : value;
}

/** `swarm run fast`: commander would say "too many arguments"; this names the word. */
export function rejectExtra(command: string, extra: readonly string[]): void {
  const [word] = extra;
  if (word === undefined) return;
  throw new UsageError(`${command}: unexpected argument ${quoted(word)}; see \`swarm ${command} --help\``);
}

/** A number as people write it: decimal, maybe an exponent; not hex (`0x10`), octal or binary. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/** An integer flag within [min, max]; the message names the flag and the range. */
export function integer(command: string, flag: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!DECIMAL.test(text) || !Number.isInteger(n)) {
      throw new UsageError(`${command}: --${flag}: expected an integer, got ${quoted(text)}`);
    }
    if (n < min || n > max) {
      throw new UsageError(
        `${command}: --${flag}: expected an integer from ${min} to ${max}, got ${quoted(text)}`,
      );
    }
    return n;
  };
}

/** A number flag within [min, max] (min above 0); the message names the flag and the range. */
export function positive(command: string, flag: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!DECIMAL.test(text) || !Number.isFinite(n) || n < min || n > max) {
      throw new UsageError(
        `${command}: --${flag}: expected a number from ${min} to ${max}, got ${quoted(text)}`,
      );
    }
    return n;
  };
}

/**
 * A duration flag (30s, 5m, 1h30m) from `least` to `most`, in milliseconds. Every duration is at
 * most MAX_DURATION (a week), the ceiling parseDuration itself enforces.
 */
export function duration(command: string, flag: string, least = 0, most = MAX_DURATION) {
  return (text: string): number => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch (err) {
      throw new UsageError(`${command}: --${flag}: ${messageOf(err)}`);
    }
    if (ms < least || ms > most) {
      throw new UsageError(
        `${command}: --${flag}: expected a duration from ${formatDuration(least)} to ${formatDuration(most)}, got ${quoted(text)}`,
      );
    }
    return ms;
  };
}

/** A folder flag: `-o "$OUT"` with OUT unset would otherwise write into the current folder. */
export function folder(command: string, flag: string) {
  return (text: string): string => {
    if (text.trim() === "")
      throw new UsageError(`${command}: ${flag}: empty; pass a folder (an unset shell variable?)`);
    return text;
  };
}

/** An http:// or https:// URL flag. */
export function httpUrl(command: string, flag: string) {
  return (text: string): string => {
    if (!/^https?:\/\/[^\s/]/.test(text))
      throw new UsageError(`${command}: --${flag}: expected an http:// or https:// URL, got ${quoted(text)}`);
    return text;
  };
}

/** A repeatable flag: every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Adds --url, --api-key, --api-secret, --api-secret-file to `command`, typed. Their LIVEKIT_*
 * fallbacks are read where they are used (`fromEnv`), since commander's own env() takes an empty
 * variable for a value.
 */
export function withLivekitOptions<
  Args extends unknown[],
  Opts extends OptionValues,
  Globals extends OptionValues,
>(command: Command<Args, Opts, Globals>, urlHelp: string) {
  return command
    .addOption(new Option("--url <ws://host:7880>", `${urlHelp} (env: LIVEKIT_URL)`))
    .addOption(new Option("--api-key <key>", "API key (env: LIVEKIT_API_KEY)"))
    .addOption(
      new Option(
        "--api-secret <secret>",
        "API secret, never printed; on the command line every local user sees it in ps: prefer env LIVEKIT_API_SECRET or --api-secret-file",
      ),
    )
    .addOption(
      new Option(
        "--api-secret-file <path>",
        "read the API secret from this file (its one line; a trailing newline is dropped)",
      ),
    );
}

/** -o, --output <dir>, refused when empty (see `folder`). */
export function outputOption(command: string, help: string) {
  return new Option("-o, --output <dir>", help).argParser(folder(command, "--output"));
}

/** The typed option values of a command as `define()` builds it. */
export type FlagsOf<Define extends () => { opts(): unknown }> = ReturnType<ReturnType<Define>["opts"]>;

/** The longest --linger: a final scrape needs one scrape interval (Prometheus' default is 1 min). */
const MAX_LINGER = 10 * 60_000;

/** --metrics-port, --metrics-host, --linger: live /metrics while `what` goes on, and a final scrape after. */
export function liveMetricsOptions(command: string, what: string) {
  return [
    new Option(
      "--metrics-port <port>",
      `serve Prometheus /metrics on this port during the ${what} (0: pick one)`,
    ).argParser(integer(command, "metrics-port", 0, 65535)),
    new Option("--metrics-host <address>", "address /metrics binds").default("127.0.0.1"),
    new Option(
      "--linger <15s>",
      `keep /metrics up this long after the ${what}, for a final scrape; at most 10m (a few scrape intervals)`,
    ).argParser(duration(command, "linger", 0, MAX_LINGER)),
  ] as const;
}

/** commander's "error: X\n(Did you mean Y?)" as one line: "swarm: cmd: X (did you mean Y?); see ...". */
export function oneLine(command: string, text: string): string {
  const [first = "", ...rest] = text.trim().split("\n");
  const hint = rest
    .map((l) => l.trim().replace(/^\(Did you mean/, "(did you mean"))
    .filter((l) => l !== "")
    .join(" ");
  const what = first.replace(/^error: /, "").replace(/\.$/, "");
  const where = command === "swarm" ? "" : `${command}: `;
  const help = command === "swarm" ? "`swarm --help`" : `\`swarm ${command} --help\``;
  return `swarm: ${where}${what}${hint !== "" ? ` ${hint}` : ""}; see ${help}\n`;
}

/** The settings every command shares: errors as one line, suggestions, real examples after --help. */
export function configure<C extends CommandUnknownOpts>(command: C, examples: readonly string[]): C {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (str, write) => {
        write(oneLine(command.name(), str));
      },
    })
    .addHelpText("after", `\nExamples:\n${examples.map((e) => `  ${e}`).join("\n")}\n`);
  return command;
}

/**
 * A command of options only (`swarm canary`, `swarm gate`): a stray word is refused by name, and the
 * implementation, `load()`ed only when the command runs, gets the typed flags.
 */
export function optionsCommand<Opts extends OptionValues>(
  command: Command<[], Opts>,
  examples: readonly string[],
  load: () => Promise<(flags: Opts) => Promise<number>>,
  exit: (code: number) => void,
): Command<[], Opts> {
  command.action(async (flags, cmd) => {
    rejectExtra(command.name(), cmd.args);
    const implementation = await load();
    exit(await implementation(flags));
  });
  return configure(command, examples);
}

/** A command of one argument and options (`swarm storm <scenario>`), its implementation `load()`ed when it runs. */
export function argumentCommand<Arg, Opts extends OptionValues>(
  command: Command<[Arg], Opts>,
  examples: readonly string[],
  load: () => Promise<(arg: Arg, flags: Opts) => Promise<number>>,
  exit: (code: number) => void,
): Command<[Arg], Opts> {
  command.action(async (arg, flags) => {
    const implementation = await load();
    exit(await implementation(arg, flags));
  });
  return configure(command, examples);
}
