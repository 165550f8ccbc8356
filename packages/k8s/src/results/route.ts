/**
 * A finished run's folder, served over HTTP until someone has collected it: a shard pod's, from its
 * /metrics server, and the merge pod's, from a server of its own. No request path ever reaches the
 * filesystem: a file is served only when its name is in the listing, which was made from the
 * folder itself, and a listed name maps to the path found there.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { messageOf } from "@livekit-swarm/schema";
import { ResultsError } from "../errors.js";
import {
  COLLECTED_PATH,
  LISTING_FORMAT,
  RESULTS_PATH,
  isFileName,
  isShardFolder,
  type Listing,
  type ResultFile,
} from "./listing.js";

/** How the run whose folder is served ended, for the listing. */
export interface RunEnd {
  readonly exitCode: number;
  /** A shard's status from its shard.json. */
  readonly status?: string;
  /** A merge's verdict line. */
  readonly verdict?: string;
  /** List the `shard-I/` folders' files too (a merge's folder holds the shards'). */
  readonly nested?: boolean;
}

/** Why the serving ended. */
export type ServingEnd = "collected" | "expired" | "stopped";

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** The folder's result files (and with `nested` its shard-I folders'), as names and paths; anything else is not listed. */
async function resultFiles(folder: string, nested: boolean): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    // a symbolic link is neither: nothing outside the folder is served
    if (entry.isFile() && isFileName(entry.name)) found.set(entry.name, join(folder, entry.name));
    else if (nested && entry.isDirectory() && isShardFolder(entry.name))
      for (const inner of await readdir(join(folder, entry.name), { withFileTypes: true }))
        if (inner.isFile() && isFileName(inner.name))
          found.set(`${entry.name}/${inner.name}`, join(folder, entry.name, inner.name));
  }
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function reply(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
  res.end(text);
}

/**
 * `/results` on a server: `running` until `serve` is given the finished folder, then its listing
 * and files until `POST /results/collected`, the hold's end, or a stop.
 */
export class ResultsRoute {
  readonly path = RESULTS_PATH;
  private listing: Listing = { format: LISTING_FORMAT, state: "running", files: [] };
  private files = new Map<string, { readonly path: string; readonly file: ResultFile }>();
  private collect: (() => void) | undefined;
  private readonly collected = new Promise<void>((resolve) => {
    this.collect = resolve;
  });

  /** Answers a request under /results; the server sends every other path elsewhere. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://results.invalid").pathname;
    if (path === COLLECTED_PATH && req.method === "POST") {
      this.onCollected(req, res);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      reply(res, 405, "method not allowed: GET /results, GET /results/<file>, POST /results/collected\n", {
        Allow: "GET, HEAD, POST",
      });
      return;
    }
    if (path === RESULTS_PATH) {
      const body = `${JSON.stringify(this.listing)}\n`;
      res.writeHead(200, {
        "Content-Type": "application/json",
        "Content-Length": String(Buffer.byteLength(body)),
        "Cache-Control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    let name: string | undefined;
    try {
      name = decodeURIComponent(path.slice(RESULTS_PATH.length + 1));
    } catch {
      name = undefined;
    }
    const served =
      path.startsWith(`${RESULTS_PATH}/`) && name !== undefined ? this.files.get(name) : undefined;
    if (served === undefined) {
      reply(res, 404, "not found: GET /results lists the files there are\n");
      return;
    }
    this.send(req, res, served.path, served.file);
  }

  private send(req: IncomingMessage, res: ServerResponse, path: string, file: ResultFile): void {
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(file.size),
      "Cache-Control": "no-store",
    });
    if (req.method === "HEAD" || file.size === 0) {
      res.end();
      return;
    }
    // the listed bytes and no more: a file grown since would not match its Content-Length
    pipeline(createReadStream(path, { start: 0, end: file.size - 1 }), res).catch(() => {
      // the client went away, or the file did: the response is cut short, which the receiver notices
      res.destroy();
    });
  }

  private onCollected(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.listing.state !== "ready") {
      reply(res, 409, "nothing to collect yet: the run goes on\n");
      return;
    }
    res.once("finish", () => {
      this.collect?.();
    });
    reply(res, 200, "collected\n");
  }

  /** Lists `folder` (hashing every file) and serves it from now on. */
  async ready(folder: string, end: RunEnd): Promise<Listing> {
    let files: Map<string, string>;
    try {
      files = await resultFiles(folder, end.nested === true);
    } catch (err) {
      throw new ResultsError("output", `cannot list ${folder} to serve it: ${messageOf(err)}`);
    }
    const served = new Map<string, { readonly path: string; readonly file: ResultFile }>();
    for (const [name, path] of files) {
      const { size } = await stat(path);
      served.set(name, { path, file: { name, size, sha256: await sha256Of(path) } });
    }
    this.files = served;
    this.listing = {
      format: LISTING_FORMAT,
      state: "ready",
      exitCode: end.exitCode,
      ...(end.status !== undefined ? { status: end.status } : {}),
      ...(end.verdict !== undefined ? { verdict: end.verdict } : {}),
      files: [...served.values()].map((s) => s.file),
    };
    return this.listing;
  }

  /** Serves `folder` until it is collected, `holdMs` passes, or one of `stops` aborts; says which. */
  async serve(
    folder: string,
    end: RunEnd,
    holdMs: number,
    stops: readonly AbortSignal[] = [],
  ): Promise<ServingEnd> {
    await this.ready(folder, end);
    if (stops.some((s) => s.aborted)) return "stopped";
    let timer: NodeJS.Timeout | undefined;
    let onStop: (() => void) | undefined;
    try {
      return await Promise.race([
        this.collected.then(() => "collected" as const),
        new Promise<ServingEnd>((resolve) => {
          timer = setTimeout(() => {
            resolve("expired");
          }, holdMs);
          onStop = () => {
            resolve("stopped");
          };
          for (const s of stops) s.addEventListener("abort", onStop);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onStop !== undefined) for (const s of stops) s.removeEventListener("abort", onStop);
    }
  }
}

export interface ResultsServer {
  /** e.g. `http://0.0.0.0:9464/results`. */
  readonly url: string;
  /** Stops listening and drops open connections; resolves once the port is free. */
  close(): Promise<void>;
}

/** A server of `route` alone (the merge pod's): anything outside /results is 404. */
export async function serveResults(
  route: ResultsRoute,
  options: { readonly port: number; readonly host: string },
): Promise<ResultsServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://results.invalid").pathname;
    if (path === route.path || path.startsWith(`${route.path}/`)) route.handle(req, res);
    else reply(res, 404, "not found: results are at /results\n");
  });
  const where = options.host.includes(":") ? `[${options.host}]` : options.host;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      reject(
        new ResultsError(
          "output",
          `cannot serve results on ${where}:${options.port}: ${messageOf(err)}: is another process on that port?`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${where}:${port}${RESULTS_PATH}`,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err === undefined) resolve();
          else reject(err);
        });
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
