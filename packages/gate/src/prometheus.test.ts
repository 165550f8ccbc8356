import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusError, prometheusUrl, queryInstant } from "./prometheus.js";

/** Answers each query with the body registered for it: a stand-in Prometheus. */
const ANSWERS: Readonly<Record<string, { status: number; body: unknown }>> = {
  vector: {
    status: 200,
    body: { status: "success", data: { resultType: "vector", result: [{ value: [1, "0.25"] }] } },
  },
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
    if (req.headers.authorization !== undefined) seen.push(`auth ${req.headers.authorization}`);
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
    const error = await queryInstant("http://127.0.0.1:1", "vector", { timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PrometheusError);
    expect((error as Error).message).toMatch(
      /^cannot reach Prometheus at http:\/\/127\.0\.0\.1:1: .* - is it running\? pass --prometheus URL$/,
    );
  });
});

describe("prometheusUrl", () => {
  it.each([
    ["ftp://prom:21", /Prometheus speaks HTTP, got a ftp: URL/],
    ["file:///etc/passwd", /Prometheus speaks HTTP, got a file: URL/],
    ["prom:9090", /Prometheus speaks HTTP/],
    ["not a url", /is not a URL: write it like http:\/\/127\.0\.0\.1:9090/],
    ["", /is not a URL/],
    ["http://prom:9090/?x=1", /without a query or fragment/],
  ])("%s is refused before anything is sent", (text, message) => {
    expect(() => prometheusUrl(text)).toThrow(PrometheusError);
    expect(() => prometheusUrl(text)).toThrow(message);
  });

  it("keeps a path prefix and drops a trailing slash", () => {
    expect(prometheusUrl("https://mon.example/prom/").base).toBe("https://mon.example/prom");
  });

  it("moves credentials into a header and never shows them", () => {
    const target = prometheusUrl("http://ops:s3cret@127.0.0.1:9090");
    expect(target.base).toBe("http://127.0.0.1:9090");
    expect(target.shown).not.toContain("s3cret");
    expect(target.headers.authorization).toBe(`Basic ${Buffer.from("ops:s3cret").toString("base64")}`);
  });

  it("an unreachable server's error names the URL without its password", async () => {
    const err = await queryInstant("http://ops:s3cret@127.0.0.1:9/", "up", { timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PrometheusError);
    expect((err as Error).message).toContain("***@127.0.0.1:9");
    expect((err as Error).message).not.toContain("s3cret");
  });

  it("sends credentials from the URL as Basic auth", async () => {
    const withUser = base.replace("http://", "http://ops:s3cret@");
    await queryInstant(withUser, "vector", { timeoutMs: 2000 });
    expect(seen).toContain(`auth Basic ${Buffer.from("ops:s3cret").toString("base64")}`);
  });
});
