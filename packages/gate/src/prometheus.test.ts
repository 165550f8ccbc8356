import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusError, queryInstant } from "./prometheus.js";

/** Answers each query with the body registered for it: a stand-in Prometheus. */
const ANSWERS: Readonly<Record<string, { status: number; body: unknown }>> = {
  vector: { status: 200, body: { status: "success", data: { resultType: "vector", result: [{ value: [1, "0.25"] }] } } },
  scalar: { status: 200, body: { status: "success", data: { resultType: "scalar", result: [1, "7"] } } },
  empty: { status: 200, body: { status: "success", data: { resultType: "vector", result: [] } } },
  bad: { status: 400, body: { status: "error", error: "parse error at char 4" } },
};

let server: Server;
let base = "";
const seen: string[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    seen.push(url.search);
    const answer = ANSWERS[url.searchParams.get("query") ?? ""] ?? { status: 404, body: "not found" };
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("queryInstant", () => {
  it("reads a vector's first sample and a scalar; no series is undefined", async () => {
    expect(await queryInstant(base, "vector", { timeoutMs: 2000 })).toBe(0.25);
    expect(await queryInstant(`${base}/`, "scalar", { timeoutMs: 2000 })).toBe(7);
    expect(await queryInstant(base, "empty", { timeoutMs: 2000 })).toBeUndefined();
  });

  it("evaluates at the given time", async () => {
    await queryInstant(base, "vector", { atMs: 1_700_000_000_500, timeoutMs: 2000 });
    expect(seen.at(-1)).toBe("?query=vector&time=1700000000.500");
  });

  it("a rejected query names the server and Prometheus's reason", async () => {
    await expect(queryInstant(base, "bad", { timeoutMs: 2000 })).rejects.toThrow(
      new PrometheusError(`Prometheus at ${base} rejected bad: parse error at char 4`),
    );
  });

  it("an unreachable server names the URL and the fix", async () => {
    const error = await queryInstant("http://127.0.0.1:1", "vector", { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrometheusError);
    expect((error as Error).message).toMatch(/^cannot reach Prometheus at http:\/\/127\.0\.0\.1:1: .* - is it running\? pass --prometheus URL$/);
  });
});
