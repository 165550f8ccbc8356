import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { ExporterError, describeError } from "./errors.js";

export const DEFAULT_HOST = "127.0.0.1";
export const METRICS_PATH = "/metrics";

/** Another path on the same server: a finished run's results (k8s's ResultsRoute). */
export interface HttpRoute {
  /** Requests for this path and below it go to `handle`. */
  readonly path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface ServeOptions {
  readonly port: number;
  /** Default 127.0.0.1: a load generator's metrics are nobody else's business unless asked. */
  readonly host?: string;
  readonly routes?: readonly HttpRoute[];
}

export interface MetricsServer {
  /** Where to scrape, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** Stops listening and drops open keep-alive connections; resolves once the port is free. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` from `registry`, and each route's path; anything else is 404 (405 for
 * another method on /metrics).
 */
export async function serveMetrics(registry: Registry, options: ServeOptions): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_HOST;
  const routes = options.routes ?? [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://metrics.invalid").pathname;
    const route = routes.find((r) => path === r.path || path.startsWith(`${r.path}/`));
    if (route !== undefined) route.handle(req, res);
    else void respond(registry, req, res);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      const message = `cannot serve metrics on ${hostPort(host, options.port)}: ${listenProblem(err)}`;
      reject(new ExporterError("serve-failed", message, { cause: err }));
    };
    server.once("error", onError);
    server.listen(options.port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostPort(host, port)}${METRICS_PATH}`,
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

async function respond(registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://metrics.invalid").pathname;
  if (path !== METRICS_PATH) {
    reply(res, 404, "not found: metrics are at /metrics\n");
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    reply(res, 405, "method not allowed: use GET\n");
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, { "Content-Type": registry.contentType });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (err) {
    reply(res, 500, `cannot collect metrics: ${describeError(err)}\n`);
  }
}

function listenProblem(err: Error): string {
  switch ((err as { code?: unknown }).code) {
    case "EADDRINUSE":
      return "the port is in use - choose another port, or port 0 to pick a free one";
    case "EACCES":
      return "permission denied - ports below 1024 need privileges; choose a higher port";
    case "EADDRNOTAVAIL":
      return "this machine has no such address - bind 127.0.0.1, or 0.0.0.0 for every interface";
    default:
      return `${describeError(err)} - check the host and port`;
  }
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
  res.end(text);
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
