/**
 * What scenario and drill files share: reading YAML, and the one error a configuration file raises.
 * Every problem is one line naming the file, the key path and what to change.
 */
import { parseDocument } from "yaml";
import { FIFO_WAIT_MS, readHeadSync } from "./bounded-read.js";
import { binary } from "./duration.js";
import { KnownError, messageOf } from "./known-error.js";

export type ConfigErrorReason = "unreadable" | "syntax" | "invalid";

/** A key path as zod and YAML give it: keys and list indices. */
export type KeyPath = readonly PropertyKey[];

/** One thing wrong with a file: where, and what would be accepted. */
export interface ConfigProblem {
  readonly file: string;
  /** `workload.video.codec`, `faults[2].target`; empty for the file as a whole or a syntax error. */
  readonly path: string;
  /** The same path as keys and list indices. */
  readonly keys: readonly (string | number)[];
  /** `file:line:col` of a syntax error, else the file. */
  readonly at: string;
  readonly message: string;
}

export function formatPath(path: KeyPath): string {
  return path
    .map((segment, i) => {
      if (typeof segment === "number") return `[${segment}]`;
      const key = String(segment);
      return i === 0 ? key : `.${key}`;
    })
    .join("");
}

export function problemAt(file: string, path: KeyPath, message: string): ConfigProblem {
  const keys = path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
  return { file, at: file, path: formatPath(keys), keys, message };
}

/** The line a user reads: `file: path: message`. */
export function problemLine(problem: ConfigProblem): string {
  return problem.path === ""
    ? `${problem.at}: ${problem.message}`
    : `${problem.at}: ${problem.path}: ${problem.message}`;
}

/** A scenario or drill file that cannot be used; `problems` holds one line per thing to fix. */
export class ConfigError extends KnownError<ConfigErrorReason> {
  override readonly name = "ConfigError";
  readonly problems: string[];

  constructor(
    reason: ConfigErrorReason,
    /** The file (or `<flags>`) the configuration came from. */
    readonly source: string,
    readonly issues: readonly ConfigProblem[],
  ) {
    const problems = issues.map(problemLine);
    super(reason, problems.join("\n"));
    this.problems = problems;
  }

  override toJSON(): {
    name: string;
    reason: ConfigErrorReason;
    source: string;
    message: string;
    problems: string[];
  } {
    return {
      name: this.name,
      reason: this.reason,
      source: this.source,
      message: this.message,
      problems: [...this.problems],
    };
  }
}

const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  ELOOP: "is a symbolic link loop",
  ENOTDIR: "a part of the path is not a folder",
  EFBIG: "is larger than 1 MiB, too large for a configuration file",
  ETIMEDOUT: "is a pipe that gave nothing for 10 s: is anything writing to it?",
};

class FileTooLarge extends Error {
  readonly code = "EFBIG";
  constructor(path: string) {
    super(`${path} is larger than ${MOST_CONFIG_BYTES} bytes`);
  }
}

/** Scenario and drill files are a few kilobytes; a bigger one (or /dev/zero) is the wrong file. */
const MOST_CONFIG_BYTES = 1024 * 1024;

/**
 * A configuration file's text, read up to MOST_CONFIG_BYTES (readHeadSync): `--scenario /dev/zero`
 * fails with EFBIG in a moment instead of filling half a gigabyte first, a silent pipe with
 * ETIMEDOUT after `waitMs`.
 */
export function readConfigText(path: string, waitMs = FIFO_WAIT_MS): Promise<string> {
  try {
    const bytes = readHeadSync(path, MOST_CONFIG_BYTES, waitMs);
    if (bytes.length > MOST_CONFIG_BYTES) throw new FileTooLarge(path);
    return Promise.resolve(bytes.toString("utf8"));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Why a file could not be read, in a few words. */
export function readFailure(error: unknown): string {
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  return READ_FAILURES[code] ?? messageOf(error);
}

function syntaxProblem(
  file: string,
  error: { message: string; linePos?: readonly { line: number; col: number }[] },
): ConfigProblem {
  // the parser's message can quote the text it stopped at (a whole line of it): cut and escaped
  const headline = visibleHead(
    (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, ""),
  );
  const start = error.linePos?.[0];
  const at = start === undefined ? file : `${file}:${start.line}:${start.col}`;
  return { file, at, path: "", keys: [], message: headline };
}

/** How many of a file's syntax problems are listed: the first few say what is wrong, a hundred do not. */
const MOST_SYNTAX_PROBLEMS = 5;

/** YAML (or JSON, which is YAML) as a plain value; syntax problems as `file:line:col: what`. */
export function readYaml(text: string, file: string): { value: unknown } | { problems: ConfigProblem[] } {
  // a wrong file (an image, an archive) is one line, not the parser's complaint about each of its lines
  const bin = binary(text);
  if (bin !== undefined)
    return {
      problems: [{ file, at: file, path: "", keys: [], message: `is ${bin}, not YAML: pass the text file` }],
    };
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.slice(0, MOST_SYNTAX_PROBLEMS).map((error) => syntaxProblem(file, error));
    const more = doc.errors.length - problems.length;
    if (more > 0)
      problems.push({ file, at: file, path: "", keys: [], message: `and ${more} more syntax problems` });
    return { problems };
  }
  try {
    const value: unknown = doc.toJS();
    return { value };
  } catch (error) {
    const message = messageOf(error);
    return { problems: [syntaxProblem(file, { message })] };
  }
}

/** At most 200 characters of a message, control characters and anything outside ASCII escaped. */
function visibleHead(message: string): string {
  const chars = Array.from(message);
  const cut =
    chars.length > 200
      ? `${chars.slice(0, 200).join("")}... (${chars.length - 200} more characters)`
      : message;
  return cut.replace(/[^\x20-\x7e]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}
