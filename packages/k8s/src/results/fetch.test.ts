/**
 * The fetch against a stand-in kubectl: `get pods` and `get job` answer from the test, `get --raw`
 * and `create --raw` on the merge pod's proxy path reach a real ResultsRoute on 127.0.0.1, as the
 * API server's pod proxy would. The real kubectl wrapper is run against node itself: no shell.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ResultsError } from "../errors.js";
import { KubectlFailed, fetchRun, kubectl, type FetchOptions, type Kubectl } from "./fetch.js";
import { LISTING_FORMAT } from "./listing.js";
import { ResultsRoute, serveResults, type ServingEnd } from "./route.js";

const POD = "lkswarm-r1-merge-q8z4t";
const PROXY = `/api/v1/namespaces/load/pods/${POD}:9464/proxy`;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function mergePod(phase: string, exitCode?: number) {
  return {
    metadata: { name: POD, creationTimestamp: "2026-11-23T06:00:00Z" },
    status: {
      phase,
      podIP: "10.1.2.3",
      ...(exitCode !== undefined ? { containerStatuses: [{ state: { terminated: { exitCode } } }] } : {}),
    },
  };
}

/** kubectl as the fetch drives it; every call is kept, and anything unexpected fails the test. */
function standInKubectl(state: { pods: () => unknown[]; job: boolean; origin: string }) {
  const calls: string[][] = [];
  const proxied = (args: readonly string[]): string => {
    const path = args[2] ?? "";
    if (!path.startsWith(PROXY)) throw new Error(`unexpected proxy path ${path}`);
    return `${state.origin}${path.slice(PROXY.length)}`;
  };
  const k: Kubectl = {
    async text(args, options) {
      calls.push([...args]);
      const [verb, what] = args;
      if (verb === "get" && what === "pods") {
        expect(args).toEqual([
          "get",
          "pods",
          "-n",
          "load",
          "-l",
          "batch.kubernetes.io/job-name=lkswarm-r1-merge",
          "-o",
          "json",
        ]);
        return JSON.stringify({ kind: "PodList", items: state.pods() });
      }
      if (verb === "get" && what === "job") {
        if (state.job) return "job.batch/lkswarm-r1-merge\n";
        throw new KubectlFailed('Error from server (NotFound): jobs.batch "lkswarm-r1-merge" not found');
      }
      if (verb === "get" && what === "--raw") {
        const response = await fetch(proxied(args));
        if (!response.ok)
          throw new KubectlFailed(`Error from server (ServiceUnavailable): ${response.status}`);
        const text = await response.text();
        if (text.length > (options?.maxBytes ?? Infinity)) throw new KubectlFailed("too long");
        return text;
      }
      if (verb === "create" && what === "--raw") {
        expect(args.slice(3)).toEqual(["-f", "-"]);
        const response = await fetch(proxied(args), { method: "POST", body: options?.stdin ?? "" });
        return response.text();
      }
      throw new Error(`unexpected kubectl ${args.join(" ")}`);
    },
    stream(args) {
      calls.push([...args]);
      expect(args.slice(0, 2)).toEqual(["get", "--raw"]);
      const response = fetch(proxied(args));
      const stdout = Readable.from(
        (async function* () {
          const r = await response;
          if (r.ok && r.body !== null) for await (const chunk of r.body) yield chunk;
        })(),
      );
      const done = response.then((r) => {
        if (!r.ok) throw new KubectlFailed(`Error from server: ${r.status}`);
      });
      return { stdout, done, kill: () => undefined };
    },
  };
  return { kubectl: k, calls };
}

/** A merge pod's folder: the merged reports and two shard folders. */
function mergedFolder(): { dir: string; files: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), "merged-"));
  const files: Record<string, string> = {
    "summary.json": '{"verdict":"fail"}\n',
    "report.html": "<html></html>\n",
    "junit.xml": "<testsuites/>\n",
    "shard-0/shard.json": '{"shard":0}\n',
    "shard-0/samples.jsonl": "s0\n".repeat(1000),
    "shard-1/shard.json": '{"shard":1}\n',
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, files };
}

async function mergePodServer(route = new ResultsRoute()) {
  const server = await serveResults(route, { port: 0, host: "127.0.0.1" });
  cleanup.push(() => server.close());
  return { route, origin: new URL(server.url).origin };
}

function options(k: Kubectl, extra: Partial<FetchOptions> = {}): FetchOptions {
  return {
    namespace: "load",
    runId: "r1",
    outputDir: join(mkdtempSync(join(tmpdir(), "fetched-")), "r1"),
    kubectl: k,
    intervalMs: 10,
    room: () => Promise.resolve(2 ** 30),
    ...extra,
  };
}

describe("fetchRun", () => {
  it("waits through a Pending pod and a merge still collecting, then downloads every file, tells the pod, and returns its exit code and verdict", async () => {
    const { dir, files } = mergedFolder();
    const { route, origin } = await mergePodServer();
    const verdict = "verdict: FAIL: 1 of 3 threshold(s) failed; run r1 over 2 of 2 shard(s): exit 99";
    let polls = 0;
    let served: Promise<ServingEnd> | undefined;
    const { kubectl: k, calls } = standInKubectl({
      origin,
      job: true,
      pods: () => {
        polls++;
        if (polls === 6) served = route.serve(dir, { exitCode: 99, verdict, nested: true }, 60_000);
        return [mergePod(polls <= 2 ? "Pending" : "Running")];
      },
    });
    const lines: string[] = [];
    const o = options(k, { log: (l) => lines.push(l) });
    const fetched = await fetchRun(o);

    expect(fetched).toMatchObject({ pod: POD, exitCode: 99, verdict });
    expect([...fetched.files].sort()).toEqual(Object.keys(files).sort());
    for (const [name, text] of Object.entries(files))
      expect(readFileSync(join(o.outputDir, name), "utf8")).toBe(text);
    expect(await served).toBe("collected");
    expect(calls.at(-1)).toEqual(["create", "--raw", `${PROXY}/results/collected`, "-f", "-"]);
    expect(lines).toEqual([
      `merge pod ${POD}: Pending`,
      `merge pod ${POD}: collecting the shards' results and merging (the shards run until their planned end)`,
      expect.stringMatching(new RegExp(`^merge pod ${POD}: 6 file\\(s\\), 0\\.0 MiB, into `)),
    ]);
  });

  it("refuses an -o folder that is not empty before asking kubectl anything", async () => {
    const { kubectl: k, calls } = standInKubectl({ origin: "", job: true, pods: () => [] });
    const o = options(k);
    mkdirSync(o.outputDir);
    writeFileSync(join(o.outputDir, "summary.json"), "{}");
    await expect(fetchRun(o)).rejects.toThrow(/is not empty: fetch into a new folder \(-o\)/);
    expect(calls).toEqual([]);
  });

  it("says where the verdict is when the merge pod ended before it was fetched", async () => {
    const { kubectl: k } = standInKubectl({ origin: "", job: true, pods: () => [mergePod("Failed", 99)] });
    await expect(fetchRun(options(k))).rejects.toThrow(
      `the merge pod ${POD} ended (exit 99) before its results were fetched, so they are gone; its log holds the verdict: kubectl -n load logs ${POD}`,
    );
  });

  it("names --run-id and --namespace when there is no such merge Job, and gives up on one that never gets a pod", async () => {
    const none = standInKubectl({ origin: "", job: false, pods: () => [] });
    await expect(fetchRun(options(none.kubectl))).rejects.toThrow(
      /no job lkswarm-r1-merge in namespace load: check --run-id and --namespace/,
    );
    let now = 0;
    const podless = standInKubectl({ origin: "", job: true, pods: () => [] });
    await expect(
      fetchRun(
        options(podless.kubectl, {
          stuckMs: 1000,
          now: () => now,
          sleep: () => {
            now += 400;
            return Promise.resolve();
          },
        }),
      ),
    ).rejects.toThrow(
      /job lkswarm-r1-merge has had no pod for 1s: kubectl -n load describe job lkswarm-r1-merge/,
    );
    await expect(fetchRun(options(none.kubectl, { runId: "a b" }))).rejects.toThrow(/--run-id "a b"/);
  });

  it("refuses a file that is not what the merge pod listed, and keeps nothing of it", async () => {
    const listed = "what the listing says\n";
    const server = createServer((req, res) => {
      if (req.url === "/results")
        res.end(
          JSON.stringify({
            format: LISTING_FORMAT,
            state: "ready",
            exitCode: 0,
            verdict: "verdict: pass",
            files: [
              {
                name: "summary.json",
                size: listed.length,
                sha256: createHash("sha256").update(listed).digest("hex"),
              },
            ],
          }),
        );
      else res.end("x".repeat(listed.length));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        ),
    );
    const address = server.address();
    const origin = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    const { kubectl: k } = standInKubectl({ origin, job: true, pods: () => [mergePod("Running")] });
    const o = options(k);
    const failure = await fetchRun(o).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ResultsError);
    expect((failure as ResultsError).message).toMatch(
      new RegExp(`^merge pod ${POD}: summary\\.json: sha256 [0-9a-f]{12}\\.\\.\\. is not the listing's`),
    );
    expect(readdirSync(o.outputDir)).toEqual([]);
  });

  it("refuses a listing whose files would not fit where they go", async () => {
    const { dir } = mergedFolder();
    const { route, origin } = await mergePodServer();
    await route.ready(dir, { exitCode: 0, nested: true });
    const { kubectl: k } = standInKubectl({ origin, job: true, pods: () => [mergePod("Running")] });
    await expect(fetchRun(options(k, { room: () => Promise.resolve(100) }))).rejects.toThrow(
      /more than the 0\.00 GiB free where the results go \(-o\); refused/,
    );
  });
});

describe("kubectl", () => {
  // node stands in for kubectl: what matters is that arguments go as they are, with no shell
  const node = kubectl(process.execPath);

  it("passes arguments as they are, shell characters included, and returns standard output", async () => {
    const word = "a b; $(touch /tmp/x) `id` | cat";
    expect(await node.text(["-e", "process.stdout.write(process.argv[1])", word])).toBe(word);
    expect(await node.text(["-e", "process.stdin.pipe(process.stdout)"], { stdin: "{}" })).toBe("{}");
  });

  it("fails with kubectl's first line of standard error, and names a kubectl that is not there", async () => {
    await expect(
      node.text([
        "-e",
        "process.stderr.write('\\nError from server (NotFound): pods \"x\" not found\\nmore\\n'); process.exit(1)",
      ]),
    ).rejects.toThrow(new KubectlFailed('Error from server (NotFound): pods "x" not found'));
    await expect(
      node.text(["-e", "process.stdout.write('x'.repeat(100))"], { maxBytes: 10 }),
    ).rejects.toThrow(/over 10 bytes/);
    await expect(kubectl("/nonexistent/kubectl").text(["version"])).rejects.toThrow(
      /\/nonexistent\/kubectl is not on PATH: swarm k8s fetch reads the run through kubectl/,
    );
  });

  it("streams standard output, and settles when it exits", async () => {
    const out = node.stream(["-e", "process.stdout.write('y'.repeat(300000))"]);
    let length = 0;
    for await (const chunk of out.stdout) length += chunk.byteLength;
    await out.done;
    expect(length).toBe(300_000);
    const failed = node.stream([
      "-e",
      "process.stderr.write('Error from server (ServiceUnavailable)'); process.exit(1)",
    ]);
    for await (const chunk of failed.stdout) expect(chunk).toBeUndefined();
    await expect(failed.done).rejects.toThrow(/ServiceUnavailable/);
  });
});
