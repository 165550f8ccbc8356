/**
 * What a finished run's folder looks like over HTTP: `GET /results` lists its files (name, size,
 * sha256) and how the run ended, `GET /results/<name>` streams one file, `POST /results/collected`
 * ends the serving. A listing read back is untrusted (any pod can answer on a pod IP): every name,
 * size and hash is checked here before a name reaches a path or a size a buffer.
 */
import { join, relative, resolve, sep } from "node:path";
import { quoted } from "@livekit-swarm/schema";
import { ResultsError } from "../errors.js";

export const RESULTS_PATH = "/results";
export const COLLECTED_PATH = `${RESULTS_PATH}/collected`;
export const LISTING_FORMAT = "livekit-swarm-results/1";

/**
 * A listing's own size. A merge's listing of 1024 shards of about 8 files, at about 130 bytes an
 * entry, is near 1.1 MB; a bigger answer is not ours, and is not read into memory.
 */
export const MAX_LISTING_BYTES = 2 * 1024 * 1024;
export const MAX_LISTING_FILES = 10_000;
/** A verdict is one line for a terminal; longer is not ours. */
const MAX_VERDICT_CHARS = 500;
/** The highest shard index a name may carry: render's --shards is at most 10 000. */
const MAX_SHARD_INDEX = 9_999;

/** A file a run writes: letters, digits, `.`, `_`, `-`, a letter or digit first (so never `.` or `..`). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHARD_FOLDER = /^shard-(0|[1-9][0-9]{0,3})$/;

export interface ResultFile {
  /** `summary.json`, or `shard-3/samples.jsonl` in a merge's folder. */
  readonly name: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly sha256: string;
}

export interface Listing {
  readonly format: typeof LISTING_FORMAT;
  /** `running`: the run (or the merge) goes on and nothing is listed yet; `ready`: the folder is final. */
  readonly state: "running" | "ready";
  /** How the run ended, once ready: its exit code. */
  readonly exitCode?: number;
  /** A shard's status from its shard.json (`done`, `error`). */
  readonly status?: string;
  /** A merge's verdict, one line. */
  readonly verdict?: string;
  readonly files: readonly ResultFile[];
}

/** A plain file name a run writes (`samples.jsonl`), never a path. */
export function isFileName(name: string): boolean {
  return FILE_NAME.test(name);
}

/** `shard-I`, I from 0 without leading zeros. */
export function isShardFolder(name: string): boolean {
  const match = SHARD_FOLDER.exec(name);
  return match !== null && Number(match[1]) <= MAX_SHARD_INDEX;
}

/** `<file>`, or with `nested` also `shard-I/<file>`: the only names a listing may hold. */
export function isResultName(name: string, nested: boolean): boolean {
  const parts = name.split("/");
  if (parts.length === 1) return isFileName(name);
  return nested && parts.length === 2 && isShardFolder(parts[0] ?? "") && isFileName(parts[1] ?? "");
}

/**
 * Where a checked name lands under `dir`. The name was checked by `parseListing`; this checks
 * again, so that no caller can hand an unchecked name to the filesystem.
 */
export function resultPath(dir: string, name: string, nested: boolean): string {
  if (!isResultName(name, nested))
    throw new ResultsError("bad-listing", `${quoted(name)} is not a result file's name; refused`);
  const root = resolve(dir);
  const path = join(root, ...name.split("/"));
  const inside = relative(root, path);
  if (inside === "" || inside.startsWith("..") || inside.startsWith(sep))
    throw new ResultsError("bad-listing", `${quoted(name)} leads outside ${root}; refused`);
  return path;
}

/** The URL path of a file: each part of its name escaped. */
export function filePath(name: string): string {
  return `${RESULTS_PATH}/${name.split("/").map(encodeURIComponent).join("/")}`;
}

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : undefined;
}

/** C0 and C1 controls (a terminal's escape sequences, newlines) and the Unicode line separators. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/** Printable, one line: what a listing says is shown on a terminal. */
function isOneLine(text: string): boolean {
  if (text.length > MAX_VERDICT_CHARS) return false;
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i))) return false;
  return true;
}

/** `text` without its control characters, at most `max` long: a server's words, safe on a terminal. */
export function printable(text: string, max: number): string {
  let out = "";
  for (let i = 0; i < text.length && out.length < max; i++)
    if (!isControl(text.charCodeAt(i))) out += text.charAt(i);
  return out;
}

export interface ListingLimits {
  /** Names may be `shard-I/<file>` (a merge's folder) as well as `<file>` (a shard's). */
  readonly nested: boolean;
  /** The most the listed files may add up to, and why, for the message ("the merge's volume"). */
  readonly maxBytes: number;
  readonly room: string;
}

const GIB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;

/**
 * A listing as JSON text, checked: `from` names who sent it, for the message. A listing that is
 * not one is `bad-listing`; files over `limits.maxBytes` are `too-big`.
 */
export function parseListing(text: string, limits: ListingLimits, from: string): Listing {
  const bad = (problem: string) =>
    new ResultsError(
      "bad-listing",
      `${from}: the results listing ${problem}; refused (is it a livekit-swarm of the same version?)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad("is not JSON");
  }
  const listing = record(json);
  if (listing === undefined || listing.format !== LISTING_FORMAT)
    throw bad(`is not in the format ${LISTING_FORMAT}`);
  const { state, exitCode, status, verdict } = listing;
  if (state !== "running" && state !== "ready") throw bad(`has state ${quoted(String(state))}`);
  if (
    exitCode !== undefined &&
    (typeof exitCode !== "number" || !Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)
  )
    throw bad("has an exit code that is not 0 to 255");
  if (state === "ready" && exitCode === undefined) throw bad("is ready without an exit code");
  if (status !== undefined && (typeof status !== "string" || !/^[a-z-]{1,32}$/.test(status)))
    throw bad("has a status that is not a word");
  if (verdict !== undefined && (typeof verdict !== "string" || !isOneLine(verdict)))
    throw bad(`has a verdict that is not one printable line of at most ${MAX_VERDICT_CHARS} characters`);
  if (!Array.isArray(listing.files)) throw bad("has no list of files");
  const entries: readonly unknown[] = listing.files;
  if (entries.length > MAX_LISTING_FILES) throw bad(`lists more than ${MAX_LISTING_FILES} files`);
  if (state === "running" && entries.length > 0) throw bad("lists files while running");
  const files: ResultFile[] = [];
  const names = new Set<string>();
  let total = 0;
  for (const entry of entries) {
    const file = record(entry);
    const name = file?.name;
    if (file === undefined || typeof name !== "string" || !isResultName(name, limits.nested))
      throw bad(
        `names a file ${quoted(typeof name === "string" ? name.slice(0, 200) : String(name))}, which is not ${limits.nested ? "<file> or shard-I/<file>" : "a plain file name"}`,
      );
    if (names.has(name)) throw bad(`lists ${quoted(name)} twice`);
    names.add(name);
    const { size, sha256 } = file;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw bad(`gives ${quoted(name)} a size that is not a whole number of bytes`);
    if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256))
      throw bad(`gives ${quoted(name)} a sha256 that is not 64 lowercase hex digits`);
    total += size;
    files.push({ name, size, sha256 });
  }
  if (total > limits.maxBytes)
    throw new ResultsError(
      "too-big",
      `${from}: the listed files add up to ${gib(total)}, more than the ${gib(limits.maxBytes)} ${limits.room}; refused`,
    );
  return {
    format: LISTING_FORMAT,
    state,
    ...(typeof exitCode === "number" ? { exitCode } : {}),
    ...(typeof status === "string" ? { status } : {}),
    ...(typeof verdict === "string" ? { verdict } : {}),
    files,
  };
}

/** A body read as text, at most `max` bytes: a longer one is refused without being held. */
export async function textAtMost(
  chunks: AsyncIterable<Uint8Array>,
  max: number,
  from: string,
): Promise<string> {
  const parts: Buffer[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    length += chunk.byteLength;
    if (length > max)
      throw new ResultsError(
        "bad-listing",
        `${from}: the results listing is over ${max} bytes, more than any run's; refused`,
      );
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts).toString("utf8");
}
