/**
 * The collector against a stand-in API server and stand-in shard servers, all plain HTTP on
 * 127.0.0.1: no Kubernetes. The stand-in API answers the two reads the merge's Role allows (get
 * the shard Job, list its pods); each shard is a real ResultsRoute or a hostile server.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { K8sError } from "../errors.js";
import { collectShards, type CollectOptions, type ShardOutcome } from "./collect.js";
import { LISTING_FORMAT } from "./listing.js";
import { ResultsRoute, serveResults, type ServingEnd } from "./route.js";

const JOB = "lkswarm-t";
const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  );
  const address = server.address();
  return `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
}

type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed";

function pod(index: number, phase: PodPhase, exitCode?: number) {
  return {
    metadata: {
      name: `${JOB}-${index}-x7k2p`,
      creationTimestamp: "2026-11-23T06:00:00Z",
      annotations: { "batch.kubernetes.io/job-completion-index": String(index) },
    },
    status: {
      phase,
      ...(phase === "Pending" ? {} : { podIP: "127.0.0.1" }),
      ...(exitCode !== undefined
        ? { containerStatuses: [{ state: { terminated: { exitCode, reason: "Error" } } }] }
        : {}),
    },
  };
}

/** The API server's two answers, from functions the test changes as it goes. */
async function standInApi(state: {
  job: () => unknown;
  pods: () => unknown[];
  podsStatus?: number;
}): Promise<{ base: string; seen: { path: string; auth: string }[] }> {
  const seen: { path: string; auth: string }[] = [];
  const base = await listen(
    createServer((req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization ?? "" });
      res.setHeader("content-type", "application/json");
      if (req.url === `/apis/batch/v1/namespaces/load/jobs/${JOB}`) res.end(JSON.stringify(state.job()));
      else if (
        req.url === `/api/v1/namespaces/load/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3D${JOB}`
      ) {
        res.statusCode = state.podsStatus ?? 200;
        res.end(JSON.stringify({ kind: "PodList", items: state.pods() }));
      } else {
        res.statusCode = 404;
        res.end("{}");
      }
    }),
  );
  return { base, seen };
}

function job(shards: number, deadlineS = 600, startTime = new Date().toISOString()) {
  return {
    spec: { completions: shards, activeDeadlineSeconds: deadlineS },
    status: { startTime, active: shards },
  };
}

/** A shard folder as a run leaves it. */
function shardFiles(index: number): Record<string, string> {
  return {
    "shard.json": `{"shard":${index},"status":"done"}\n`,
    "samples.jsonl": `{"t":1,"shard":${index}}\n`.repeat(100),
    "events.jsonl": "",
  };
}

/** A real shard: a ResultsRoute that serves its folder once `ready()` is called. */
async function honestShard(index: number) {
  const dir = mkdtempSync(join(tmpdir(), `shard-${index}-`));
  for (const [name, text] of Object.entries(shardFiles(index))) writeFileSync(join(dir, name), text);
  const route = new ResultsRoute();
  const server = await serveResults(route, { port: 0, host: "127.0.0.1" });
  cleanup.push(() => server.close());
  let serving: Promise<ServingEnd> | undefined;
  return {
    origin: new URL(server.url).origin,
    ready: () => {
      serving = route.serve(dir, { exitCode: 0, status: "done" }, 60_000);
    },
    ended: () => serving,
  };
}

/** A shard server that answers what the test says, and notes whether it was told it was collected. */
async function hostileShard(listing: unknown, file: (name: string, res: ServerResponse) => void) {
  const told: string[] = [];
  const origin = await listen(
    createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.method === "POST") {
        told.push(req.url ?? "");
        res.end("collected\n");
      } else if (req.url === "/results") res.end(JSON.stringify(listing));
      else file(decodeURIComponent((req.url ?? "").slice("/results/".length)), res);
    }),
  );
  return { origin, told };
}

function options(
  base: string,
  origins: readonly string[],
  extra: Partial<CollectOptions> = {},
): CollectOptions {
  return {
    api: { base, namespace: "load", token: () => Promise.resolve("t0ken") },
    job: JOB,
    outputDir: mkdtempSync(join(tmpdir(), "collected-")),
    maxBytes: 10 * 2 ** 20,
    intervalMs: 20,
    graceMs: 200,
    origin: (p) => origins[p.index] ?? "http://127.0.0.1:1",
    ...extra,
  };
}

const reasons = (outcomes: readonly ShardOutcome[]) =>
  outcomes.map((o) => (o.collected ? "collected" : o.reason));

describe("collectShards", () => {
  it("collects finished shards, waits for one still running, leaves out a failed pod and a file whose sha256 does not match", async () => {
    const early = await honestShard(0);
    const late = await honestShard(1);
    early.ready();
    const body = "tampered\n";
    const tampered = await hostileShard(
      {
        format: LISTING_FORMAT,
        state: "ready",
        exitCode: 0,
        status: "done",
        files: [{ name: "samples.jsonl", size: body.length, sha256: sha256("what was listed\n") }],
      },
      (_name, res) => res.end(body),
    );
    const polls = { n: 0 };
    const api = await standInApi({
      job: () => job(4),
      pods: () => {
        // shard 1 finishes its run a few polls in
        if (++polls.n === 4) late.ready();
        return [pod(0, "Running"), pod(1, "Running"), pod(2, "Failed", 1), pod(3, "Running")];
      },
    });
    const lines: string[] = [];
    const o = options(api.base, [early.origin, late.origin, "http://127.0.0.1:1", tampered.origin], {
      log: (l) => lines.push(l),
    });
    const outcomes = await collectShards(o);

    expect(reasons(outcomes)).toEqual([
      "collected",
      "collected",
      `its pod ${JOB}-2-x7k2p failed (exit 1, Error) before its results were collected: kubectl logs ${JOB}-2-x7k2p`,
      expect.stringMatching(
        /^shard 3 \(pod lkswarm-t-3-x7k2p, http:\/\/127\.0\.0\.1:\d+\): samples\.jsonl: sha256 [0-9a-f]{12}\.\.\. is not the listing's [0-9a-f]{12}\.\.\.: .*; refused$/,
      ),
    ]);
    for (const index of [0, 1])
      for (const [name, text] of Object.entries(shardFiles(index)))
        expect(readFileSync(join(o.outputDir, `shard-${index}`, name), "utf8")).toBe(text);
    // the refused shard leaves nothing for the merge to read, and no partial folder
    expect(readdirSync(o.outputDir).sort()).toEqual(["shard-0", "shard-1"]);
    expect(await early.ended()).toBe("collected");
    expect(await late.ended()).toBe("collected");
    expect(tampered.told).toEqual([]);
    expect(api.seen.every((s) => s.auth === "Bearer t0ken")).toBe(true);
    expect(lines).toContain("shard 1: collected 3 file(s), 0.0 MiB");
    expect(lines.filter((l) => /^shard 3: missing: .* sha256 /.test(l))).toHaveLength(1);
    expect(lines.at(-1)).toBe("2 of 4 shard(s) collected, 2 missing, 0 to go");
  });

  it("refuses a listing with a name that leads outside the folder, and writes nothing", async () => {
    const evil = await hostileShard(
      {
        format: LISTING_FORMAT,
        state: "ready",
        exitCode: 0,
        files: [{ name: "../../escaped.txt", size: 2, sha256: sha256("hi") }],
      },
      (_name, res) => res.end("hi"),
    );
    const api = await standInApi({ job: () => job(1), pods: () => [pod(0, "Running")] });
    const o = options(api.base, [evil.origin]);
    const outcomes = await collectShards(o);
    expect(reasons(outcomes)[0]).toMatch(
      /names a file "\.\.\/\.\.\/escaped\.txt", which is not a plain file name; refused/,
    );
    expect(readdirSync(o.outputDir)).toEqual([]);
    expect(existsSync(join(o.outputDir, "..", "escaped.txt"))).toBe(false);
  });

  it("refuses a shard whose files would not fit, and one that sends more bytes than it listed", async () => {
    const huge = await hostileShard(
      {
        format: LISTING_FORMAT,
        state: "ready",
        exitCode: 0,
        files: [{ name: "samples.jsonl", size: 2 ** 40, sha256: sha256("") }],
      },
      (_name, res) => res.end(""),
    );
    const overlong = await hostileShard(
      {
        format: LISTING_FORMAT,
        state: "ready",
        exitCode: 0,
        files: [{ name: "samples.jsonl", size: 4, sha256: sha256("abcd") }],
      },
      (_name, res) => res.end("abcd and then some"),
    );
    const api = await standInApi({ job: () => job(2), pods: () => [pod(0, "Running"), pod(1, "Running")] });
    const o = options(api.base, [huge.origin, overlong.origin]);
    expect(reasons(await collectShards(o))).toEqual([
      expect.stringMatching(
        /the listed files add up to 1024\.00 GiB, more than the 0\.01 GiB the merge's volume holds \(swarm k8s merge --max-gib\); refused$/,
      ),
      expect.stringMatching(/samples\.jsonl sends more than the 4 bytes its listing gives; refused$/),
    ]);
    expect(readdirSync(o.outputDir)).toEqual([]);
  });

  it("tries a transfer that breaks off again, and gives up after three", async () => {
    let attempts = 0;
    const flaky = await hostileShard(
      {
        format: LISTING_FORMAT,
        state: "ready",
        exitCode: 0,
        files: [{ name: "samples.jsonl", size: 1000, sha256: sha256("x".repeat(1000)) }],
      },
      (_name, res) => {
        attempts++;
        res.writeHead(200, { "content-length": "1000" });
        res.write("x".repeat(10));
        setTimeout(() => {
          res.destroy();
        }, 5);
      },
    );
    const api = await standInApi({ job: () => job(1), pods: () => [pod(0, "Running")] });
    const lines: string[] = [];
    const outcomes = await collectShards(options(api.base, [flaky.origin], { log: (l) => lines.push(l) }));
    expect(attempts).toBe(3);
    expect(reasons(outcomes)[0]).toMatch(/gave up after 3 tries$/);
    expect(lines.filter((l) => l.endsWith("trying again"))).toHaveLength(2);
  });

  it("names a shard whose pod vanished, and one never collected before the Job's deadline", async () => {
    const running = await honestShard(0);
    const rounds = { n: 0 };
    // started a second ago with a 1 s deadline: only the grace is left
    const startTime = new Date(Date.now() - 1000).toISOString();
    const api = await standInApi({
      job: () => job(3, 1, startTime),
      pods: () =>
        (++rounds.n < 3 ? [pod(0, "Running"), pod(1, "Running")] : [pod(0, "Running")]).concat(
          pod(2, "Pending"),
        ),
    });
    const started = Date.now();
    const outcomes = await collectShards(
      options(api.base, [running.origin, "http://127.0.0.1:1"], { graceMs: 300 }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(reasons(outcomes)).toEqual([
      "not collected before the shard Job's deadline (pod lkswarm-t-0-x7k2p is running its share of the run)",
      `its pod ${JOB}-1-x7k2p is gone`,
      `not collected before the shard Job's deadline (pod ${JOB}-2-x7k2p Pending)`,
    ]);
  });

  it("stops at once, naming the fix, when the Role does not let it list pods or the Job is not there", async () => {
    const refused = await standInApi({ job: () => job(1), pods: () => [], podsStatus: 403 });
    await expect(collectShards(options(refused.base, []))).rejects.toThrow(
      /refused to show the pods of job lkswarm-t in namespace load \(HTTP 403\): apply the ServiceAccount, Role and RoleBinding/,
    );
    const none = await standInApi({ job: () => job(1), pods: () => [] });
    await expect(collectShards({ ...options(none.base, []), job: "lkswarm-other" })).rejects.toThrow(
      K8sError,
    );
    const unbounded = await standInApi({ job: () => ({ spec: { completions: 2 } }), pods: () => [] });
    await expect(collectShards(options(unbounded.base, []))).rejects.toThrow(/no activeDeadlineSeconds/);
  });
});

describe("collectShards' output", () => {
  it("replaces a shard folder left from an earlier try rather than mixing files into it", async () => {
    const shard = await honestShard(0);
    shard.ready();
    const api = await standInApi({ job: () => job(1), pods: () => [pod(0, "Running")] });
    const o = options(api.base, [shard.origin]);
    mkdirSync(join(o.outputDir, "shard-0"));
    writeFileSync(join(o.outputDir, "shard-0", "stale.jsonl"), "old");
    expect(reasons(await collectShards(o))).toEqual(["collected"]);
    expect(readdirSync(join(o.outputDir, "shard-0")).sort()).toEqual([
      "events.jsonl",
      "samples.jsonl",
      "shard.json",
    ]);
  });
});
