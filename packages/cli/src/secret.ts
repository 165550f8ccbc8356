import { quotedPath, readFailure, readHeadSync } from "@livekit-swarm/schema";
import { UsageError } from "./errors.js";
import { fromEnv } from "./flags.js";

/** LiveKit secrets are a line of a few dozen characters; a bigger file is the wrong file. */
const MOST_BYTES = 4096;

const FIX = "write the secret alone on one line, in a file only you can read, or set LIVEKIT_API_SECRET";

/**
 * The API secret held by `path`: its one line, a trailing newline dropped. Every problem is one line
 * naming the file and the fix; the content is never repeated.
 */
export function readSecretFile(command: string, path: string): string {
  return readSecretLine(command, "api-secret-file", path, FIX);
}

/** A secret alone on the one line of `path` (a flag such as --api-secret-file), checked as readSecretFile says. */
export function readSecretLine(command: string, flag: string, path: string, fix: string): string {
  const refuse = (problem: string): never => {
    throw new UsageError(`${command}: --${flag} ${quotedPath(path)}: ${problem}; ${fix}`);
  };
  let bytes: Buffer;
  try {
    // a pipe (`--api-secret-file <(vault read ...)`) is read like a file
    bytes = readHeadSync(path, MOST_BYTES);
  } catch (err) {
    return refuse(readFailure(err));
  }
  if (bytes.length > MOST_BYTES) return refuse(`is larger than ${MOST_BYTES} bytes, too large for a secret`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return refuse("is binary, not a line of text");
  }
  const line = secretLine(text);
  return typeof line === "string" ? line : refuse(line.problem);
}

/**
 * Pure: a secret's one line (a last line break dropped), or what is wrong with it: empty, more than
 * one line, or a control character. One rule for a file's bytes and an environment variable's.
 */
export function secretLine(text: string): string | { readonly problem: string } {
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") return { problem: "is empty" };
  if (/[\r\n]/.test(secret)) return { problem: "holds more than one line" };
  if (Array.from(secret).some((c) => c < " " || c === "\u007f"))
    return { problem: "is binary, not a line of text" };
  return secret;
}

/** How the secret was given; `flag` only when it was typed on the command line. */
export interface SecretFlags {
  readonly apiSecret?: string | undefined;
  readonly apiSecretFile?: string | undefined;
}

export const SECRET_ON_COMMAND_LINE =
  "warning: --api-secret on the command line is visible to every user of this machine (ps); set LIVEKIT_API_SECRET or pass --api-secret-file instead";

/**
 * The API secret from --api-secret, --api-secret-file or LIVEKIT_API_SECRET, in that order, and
 * whether it came from the command line (for the warning).
 */
export function apiSecret(
  command: string,
  flags: SecretFlags,
): { readonly secret: string | undefined; readonly typed: boolean } {
  if (flags.apiSecret !== undefined && flags.apiSecretFile !== undefined)
    throw new UsageError(`${command}: --api-secret and --api-secret-file were both given; pass one`);
  if (flags.apiSecret !== undefined) return { secret: flags.apiSecret, typed: true };
  if (flags.apiSecretFile !== undefined)
    return { secret: readSecretFile(command, flags.apiSecretFile), typed: false };
  return { secret: fromEnv("LIVEKIT_API_SECRET"), typed: false };
}

const E2EE_FIX = "write the key alone on one line, in a file only you can read, or set LKSWARM_E2EE_KEY";

/**
 * The shared E2EE key from --e2ee-key-file or LKSWARM_E2EE_KEY, as the UTF-8 bytes of its line (what
 * livekit-client's ExternalE2EEKeyProvider does with a string key); undefined: the run makes one.
 * There is no flag taking the key itself: a command line is visible to every user (ps).
 */
export function e2eeKey(command: string, file: string | undefined): Uint8Array | undefined {
  if (file !== undefined)
    return new TextEncoder().encode(readSecretLine(command, "e2ee-key-file", file, E2EE_FIX));
  const fromEnvironment = fromEnv("LKSWARM_E2EE_KEY");
  if (fromEnvironment === undefined) return undefined;
  // the same bytes a key file refuses are refused here too
  const line = secretLine(fromEnvironment);
  if (typeof line !== "string")
    throw new UsageError(
      `${command}: LKSWARM_E2EE_KEY ${line.problem}; set it to the key alone (one line), or write the key in a file only you can read and pass --e2ee-key-file`,
    );
  return new TextEncoder().encode(line);
}
