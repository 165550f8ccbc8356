import { createWriteStream, existsSync } from "node:fs";
import { finished } from "node:stream/promises";
import { createGzip, constants } from "node:zlib";

/** What gzip adds to a line file's name. */
export const GZIP_SUFFIX = ".gz";

/** How often a gzip line file flushes what it holds, so a run killed mid-way leaves a readable file up to then. */
const GZIP_FLUSH_MS = 5000;

/** A run's file of JSON lines (samples.jsonl, events.jsonl), written as observations come. */
export interface LineFile {
  /** The file written: `path`, or `path.gz`. */
  readonly path: string;
  write(line: string): void;
  /**
   * Everything written is on disk; resolves with the first error a write met (ENOSPC, EACCES),
   * which the caller reports: the run goes on without the rest of the file, not crashed by it.
   */
  end(): Promise<Error | undefined>;
}

/**
 * A line file at `path`, or compressed with gzip at `path.gz` (streamed: a long run's samples take
 * about a fourteenth of the disk; `swarm merge` reads either, and `zcat` reads the .gz).
 */
export function lineFile(path: string, gzip: boolean): LineFile {
  const at = gzip ? `${path}${GZIP_SUFFIX}` : path;
  const out = createWriteStream(at);
  let failure: Error | undefined;
  const fail = (err: Error): void => {
    failure ??= err;
  };
  out.on("error", fail);
  const done = async (): Promise<Error | undefined> => {
    // resolves once the file is closed, or at once if it already was; an error is `failure`
    await finished(out).catch(() => undefined);
    return failure;
  };
  if (!gzip)
    return {
      path: at,
      write: (line) => {
        if (failure === undefined) out.write(line);
      },
      end: () => {
        out.end();
        return done();
      },
    };
  const zip = createGzip();
  zip.on("error", fail);
  zip.pipe(out);
  const flush = setInterval(() => {
    if (failure === undefined) zip.flush(constants.Z_SYNC_FLUSH);
  }, GZIP_FLUSH_MS);
  flush.unref();
  return {
    path: at,
    write: (line) => {
      if (failure === undefined) zip.write(line);
    },
    end: () => {
      clearInterval(flush);
      zip.end();
      return done();
    },
  };
}

/**
 * Which of a line file's forms a folder holds: `path.gz` when only it is there, else `path` (which
 * may be missing: its reader says so). Both there is a folder no run wrote: refused.
 */
export function lineFileToRead(path: string): string {
  const gz = `${path}${GZIP_SUFFIX}`;
  if (!existsSync(gz)) return path;
  if (existsSync(path))
    throw new Error(`${path} and ${gz} are both there: a run writes one of them; remove the other`);
  return gz;
}
