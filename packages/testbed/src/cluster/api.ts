/**
 * The cluster testbed's own client of the Kubernetes API: HTTPS with the admin certificate, JSON in
 * and out. The testbed creates and deletes a handful of objects and polls readiness; kubectl is for
 * the user (`swarm testbed env` points KUBECONFIG at the same credentials).
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";

export interface ApiCredentials {
  readonly server: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export function adminCredentials(dir: string, server: string): ApiCredentials {
  const pki = join(dir, "pki");
  return {
    server,
    ca: readFileSync(join(pki, "ca.crt")),
    cert: readFileSync(join(pki, "admin.crt")),
    key: readFileSync(join(pki, "admin.key")),
  };
}

export class ApiStatusError extends Error {
  override readonly name = "ApiStatusError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/** One request; resolves with any HTTP status (the caller decides), rejects on a transport error. */
export function apiCall(
  creds: ApiCredentials,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<ApiResponse> {
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: creds.ca,
        cert: creds.cert,
        key: creds.key,
        timeout: timeoutMs,
        headers: {
          accept: "application/json",
          ...(payload !== undefined
            ? {
                "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
                "content-length": payload.length,
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/** A GET that must succeed, parsed. */
export async function apiGet(creds: ApiCredentials, path: string): Promise<unknown> {
  const res = await apiCall(creds, "GET", path);
  if (res.status !== 200)
    throw new ApiStatusError(res.status, `GET ${path}: ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as unknown;
}

/** Creates an object; one that exists already is left as it is (up is run on a fresh cluster). */
export async function apiCreate(creds: ApiCredentials, path: string, object: unknown): Promise<void> {
  const res = await apiCall(creds, "POST", path, object);
  if (res.status !== 201 && res.status !== 200 && res.status !== 409)
    throw new ApiStatusError(res.status, `POST ${path}: ${res.status} ${res.body.slice(0, 300)}`);
}

/** Deletes a collection or an object; gone already is fine. */
export async function apiDelete(creds: ApiCredentials, path: string, timeoutMs = 10_000): Promise<void> {
  const res = await apiCall(creds, "DELETE", path, undefined, timeoutMs);
  if (res.status >= 300 && res.status !== 404 && res.status !== 405)
    throw new ApiStatusError(res.status, `DELETE ${path}: ${res.status} ${res.body.slice(0, 300)}`);
}

export function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

export function items(list: unknown): readonly Readonly<Record<string, unknown>>[] {
  const it = record(list).items;
  return Array.isArray(it) ? it.map(record) : [];
}
