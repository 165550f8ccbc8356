import { createWriteStream, existsSync } from "node:fs";
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
  /** Everything written is on disk. */
  end(): Promise<void>;
}

/**
 * A line file at `path`, or compressed with gzip at `path.gz` (streamed: a week-long run's samples
 * take about a tenth of the disk; `swarm merge` reads either, and `zcat` reads the .gz).
 */
export function lineFile(path: string, gzip: boolean): LineFile {
  if (!gzip) {
    const out = createWriteStream(path);
    return {
      path,
      write: (line) => out.write(line),
      end: () => new Promise((resolve) => out.end(resolve)),
    };
  }
  const at = `${path}${GZIP_SUFFIX}`;
  const out = createWriteStream(at);
  const zip = createGzip();
  zip.pipe(out);
  const flush = setInterval(() => {
    zip.flush(constants.Z_SYNC_FLUSH);
  }, GZIP_FLUSH_MS);
  flush.unref();
  return {
    path: at,
    write: (line) => zip.write(line),
    end: () =>
      new Promise((resolve) => {
        clearInterval(flush);
        out.once("close", resolve);
        zip.end();
      }),
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
