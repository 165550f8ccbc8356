import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LISTING_FORMAT, type Listing } from "./listing.js";
import { ResultsRoute, serveResults, type ResultsServer } from "./route.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** A shard's folder as a run leaves it, with what must never be served beside it. */
function shardFolder(): { dir: string; secret: string } {
  const root = mkdtempSync(join(tmpdir(), "results-route-"));
  const dir = join(root, "shard-1");
  mkdirSync(dir);
  writeFileSync(join(dir, "shard.json"), '{"status":"done"}\n');
  writeFileSync(join(dir, "samples.jsonl"), "x".repeat(5000));
  writeFileSync(join(dir, "empty.jsonl"), "");
  mkdirSync(join(dir, "screenshots"));
  writeFileSync(join(dir, "screenshots", "p.png"), "png");
  const secret = join(root, "secret.txt");
  writeFileSync(secret, "not yours");
  symlinkSync(secret, join(dir, "link.txt"));
  writeFileSync(join(dir, ".hidden"), "dot");
  return { dir, secret };
}

/** A raw GET: the path goes out as written, not normalised the way fetch() would. */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("ResultsRoute", () => {
  const servers: ResultsServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function start(route = new ResultsRoute()) {
    const server = await serveResults(route, { port: 0, host: "127.0.0.1" });
    servers.push(server);
    return { route, url: server.url };
  }

  it("says running until the folder is ready, then lists its plain files with sizes and sha256", async () => {
    const { dir } = shardFolder();
    const { route, url } = await start();
    expect(await (await fetch(url)).json()).toEqual({ format: LISTING_FORMAT, state: "running", files: [] });
    expect((await fetch(`${url}/shard.json`)).status).toBe(404);
    await route.ready(dir, { exitCode: 99, status: "done" });
    const listing = (await (await fetch(url)).json()) as Listing;
    expect(listing).toEqual({
      format: LISTING_FORMAT,
      state: "ready",
      exitCode: 99,
      status: "done",
      files: [
        { name: "empty.jsonl", size: 0, sha256: sha256("") },
        { name: "samples.jsonl", size: 5000, sha256: sha256("x".repeat(5000)) },
        { name: "shard.json", size: 18, sha256: sha256('{"status":"done"}\n') },
      ],
    });
    const file = await fetch(`${url}/samples.jsonl`);
    expect(file.headers.get("content-length")).toBe("5000");
    expect(await file.text()).toBe("x".repeat(5000));
    expect(await (await fetch(`${url}/empty.jsonl`)).text()).toBe("");
  });

  it("serves only listed names: no traversal, no symbolic link, no subfolder, no dot file", async () => {
    const { dir } = shardFolder();
    const { route, url } = await start();
    await route.ready(dir, { exitCode: 0 });
    for (const path of [
      "/results/../secret.txt",
      "/results/..%2Fsecret.txt",
      "/results/%2e%2e/secret.txt",
      "/results/link.txt",
      "/results/screenshots/p.png",
      "/results/screenshots%2Fp.png",
      "/results/.hidden",
      "/results/%ZZ",
      "/results//etc/passwd",
      "/resultsshard.json",
    ]) {
      const r = await rawGet(url, path);
      expect([path, r.status], r.body).toEqual([path, 404]);
      expect(r.body).not.toContain("not yours");
    }
  });

  it("lists a merge's shard-I folders too, and serves their files by their names", async () => {
    const root = mkdtempSync(join(tmpdir(), "results-merge-"));
    writeFileSync(join(root, "summary.json"), "{}");
    for (const name of ["shard-0", "shard-1", "shard-01", "shard-x", "shard-0.partial"]) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, "events.jsonl"), name);
    }
    const { route, url } = await start();
    const listing = await route.ready(root, { exitCode: 0, verdict: "verdict: pass", nested: true });
    expect(listing.files.map((f) => f.name)).toEqual([
      "shard-0/events.jsonl",
      "shard-1/events.jsonl",
      "summary.json",
    ]);
    expect(await (await fetch(`${url}/shard-1/events.jsonl`)).text()).toBe("shard-1");
    expect((await rawGet(url, "/results/shard-01/events.jsonl")).status).toBe(404);
  });

  it("streams the listed bytes and no more, even when the file grew after it was listed", async () => {
    const { dir } = shardFolder();
    const { route, url } = await start();
    await route.ready(dir, { exitCode: 0 });
    appendFileSync(join(dir, "samples.jsonl"), "late");
    const body = Buffer.from(await (await fetch(`${url}/samples.jsonl`)).arrayBuffer());
    expect(body.byteLength).toBe(5000);
  });

  it("streams a file larger than any chunk without changing a byte", async () => {
    const dir = mkdtempSync(join(tmpdir(), "results-big-"));
    const data = Buffer.alloc(8 * 1024 * 1024 + 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
    writeFileSync(join(dir, "samples.jsonl"), data);
    const { route, url } = await start();
    await route.ready(dir, { exitCode: 0 });
    const response = await fetch(`${url}/samples.jsonl`);
    let chunks = 0;
    const parts: Buffer[] = [];
    for await (const chunk of response.body ?? []) {
      chunks++;
      parts.push(Buffer.from(chunk));
    }
    expect(chunks).toBeGreaterThan(1);
    expect(sha256(Buffer.concat(parts))).toBe(sha256(data));
  });

  it("ends the serving when told it was collected, after answering", async () => {
    const { dir } = shardFolder();
    const { route, url } = await start();
    expect((await fetch(`${url}/collected`, { method: "POST" })).status).toBe(409);
    const serving = route.serve(dir, { exitCode: 0 }, 60_000);
    for (let i = 0; i < 100 && ((await (await fetch(url)).json()) as Listing).state !== "ready"; i++)
      await new Promise((r) => setTimeout(r, 10));
    const told = await fetch(`${url}/collected`, { method: "POST", body: "{}" });
    expect([told.status, await told.text()]).toEqual([200, "collected\n"]);
    expect(await serving).toBe("collected");
  });

  it("ends by itself when the hold passes with nothing collected, or when stopped", async () => {
    const { dir } = shardFolder();
    const started = Date.now();
    expect(await new ResultsRoute().serve(dir, { exitCode: 0 }, 50)).toBe("expired");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const stop = new AbortController();
    const serving = new ResultsRoute().serve(dir, { exitCode: 0 }, 60_000, [stop.signal]);
    setTimeout(() => {
      stop.abort();
    }, 10);
    expect(await serving).toBe("stopped");
  });

  it("refuses other methods and answers 404 outside /results", async () => {
    const { url } = await start();
    const put = await fetch(url, { method: "PUT", body: "x" });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, HEAD, POST"]);
    expect((await fetch(new URL("/metrics", url))).status).toBe(404);
  });
});
