import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ExporterError } from "./errors.js";
import { exporterWithAJoin } from "../test/exporter-fixture.js";
import type { SwarmExporter } from "./exporter.js";
import type { MetricsServer } from "./serve.js";

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function closeNet(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

describe("serve", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function start(exporter: SwarmExporter): Promise<MetricsServer> {
    const server = await exporter.serve({ port: 0 });
    cleanup.push(() => server.close());
    return server;
  }

  it("answers GET /metrics with the registry's exposition and content type", async () => {
    const exporter = exporterWithAJoin();
    const server = await start(exporter);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(exporter.registry.contentType);
    const body = await res.text();
    expect(body).toContain('lkswarm_join_duration_seconds_count{scenario="smoke",run_id="run-42"');
    expect(body).toBe(await exporter.metrics());
  });

  it("answers 404 on other paths and 405 on other methods", async () => {
    const server = await start(exporterWithAJoin());
    const origin = new URL(server.url).origin;
    expect((await fetch(`${origin}/`)).status).toBe(404);
    expect((await fetch(`${origin}/metrics/extra`)).status).toBe(404);
    expect((await fetch(`${server.url}?name[]=x`)).status).toBe(200);
    const post = await fetch(server.url, { method: "POST", body: "x" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
  });

  it("frees the port on close, even with a keep-alive connection open", async () => {
    const server = await exporterWithAJoin().serve({ port: 0 });
    const port = Number(new URL(server.url).port);
    // fetch keeps its connection alive; close() must not wait for it to time out
    expect((await fetch(server.url)).status).toBe(200);
    await server.close();
    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
    const probe = createServer();
    expect(await listen(probe, port)).toBe(port);
    await closeNet(probe);
  });

  it("says which address is taken when the port is in use", async () => {
    const squatter = createServer();
    const port = await listen(squatter, 0);
    cleanup.push(() => closeNet(squatter));
    const failure = await exporterWithAJoin()
      .serve({ port })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failure).toBeInstanceOf(ExporterError);
    expect((failure as ExporterError).reason).toBe("serve-failed");
    expect((failure as ExporterError).message).toBe(
      `cannot serve metrics on 127.0.0.1:${port}: the port is in use - choose another port, or port 0 to pick a free one`,
    );
  });

  it("hands a route's path and everything below it to the route, and keeps /metrics as it was", async () => {
    const exporter = exporterWithAJoin();
    const seen: string[] = [];
    const server = await exporter.serve({
      port: 0,
      routes: [
        {
          path: "/results",
          handle: (req, res) => {
            seen.push(`${req.method ?? ""} ${req.url ?? ""}`);
            res.end("from the route");
          },
        },
      ],
    });
    cleanup.push(() => server.close());
    const origin = new URL(server.url).origin;
    expect(await (await fetch(`${origin}/results`)).text()).toBe("from the route");
    expect(await (await fetch(`${origin}/results/shard.json`, { method: "POST" })).text()).toBe(
      "from the route",
    );
    expect((await fetch(`${origin}/resultsx`)).status).toBe(404);
    expect(await (await fetch(server.url)).text()).toBe(await exporter.metrics());
    expect(seen).toEqual(["GET /results", "POST /results/shard.json"]);
  });
});
