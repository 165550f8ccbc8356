/**
 * `swarm k8s fetch`: a run's merged reports and its shards' folders read back where kubectl works,
 * through the API server's proxy to the merge pod (`pods/<pod>:9464/proxy/results`): the API
 * server reaches the pod's IP itself, so no Service, cluster DNS, kube-proxy or port-forward is
 * needed. kubectl is run with execFile and spawn, never through a shell; every answer is checked
 * as untrusted (listing.ts), and every file streamed to disk and checked (receive.ts).
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, readdir, statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { formatDuration, messageOf } from "@livekit-swarm/schema";
import { ResultsError } from "../errors.js";
import { podsOf, type Pod } from "../api.js";
import { METRICS_PORT } from "../manifests.js";
import { requireDnsLabel, requireLabelValue } from "../names.js";
import {
  COLLECTED_PATH,
  MAX_LISTING_BYTES,
  RESULTS_PATH,
  filePath,
  parseListing,
  printable,
  resultPath,
  type Listing,
} from "./listing.js";
import { TransferError, receiveFile } from "./receive.js";

/** kubectl exited other than 0: its standard error's first line says why. */
export class KubectlFailed extends Error {
  override readonly name = "KubectlFailed";
}

export interface Kubectl {
  /** kubectl's standard output as text, at most `maxBytes`; throws KubectlFailed when it fails. */
  text(
    args: readonly string[],
    options?: { readonly stdin?: string; readonly maxBytes?: number },
  ): Promise<string>;
  /** kubectl's standard output as it comes; `done` settles when it exits (KubectlFailed if not 0). */
  stream(args: readonly string[]): {
    readonly stdout: AsyncIterable<Uint8Array>;
    readonly done: Promise<void>;
    kill(): void;
  };
}

/** kubectl's JSON of a thousand pods is a few MB. */
const MAX_JSON_BYTES = 16 * 1024 * 1024;
/** A kubectl call that returns JSON or a listing: longer is a hung connection. */
const KUBECTL_TIMEOUT_MS = 60_000;
const ATTEMPTS = 3;

function firstLine(stderr: string): string {
  const line = stderr.split("\n").find((l) => l.trim() !== "") ?? "";
  // printable only: it came from a server
  return printable(line.trim(), 300);
}

function missingKubectl(binary: string): ResultsError {
  return new ResultsError(
    "kubectl",
    `${binary} is not on PATH: swarm k8s fetch reads the run through kubectl; install it, or run where \`kubectl get pods\` works`,
  );
}

/** The real kubectl, `binary` on PATH. */
export function kubectl(binary = "kubectl"): Kubectl {
  return {
    text: (args, options) =>
      new Promise<string>((done, fail) => {
        const child = execFile(
          binary,
          [...args],
          { maxBuffer: options?.maxBytes ?? MAX_JSON_BYTES, timeout: KUBECTL_TIMEOUT_MS, encoding: "utf8" },
          (err, stdout, stderr) => {
            if (err === null) done(stdout);
            else if ((err as NodeJS.ErrnoException).code === "ENOENT") fail(missingKubectl(binary));
            else if ((err as NodeJS.ErrnoException).code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER")
              fail(new KubectlFailed(`its answer is over ${options?.maxBytes ?? MAX_JSON_BYTES} bytes`));
            else fail(new KubectlFailed(firstLine(stderr) || err.message));
          },
        );
        child.stdin?.end(options?.stdin ?? "");
      }),
    stream: (args) => {
      const child = spawn(binary, [...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (chunk: string) => {
        if (stderr.length < 4096) stderr += chunk;
      });
      const done = new Promise<void>((ok, fail) => {
        child.once("error", (err: NodeJS.ErrnoException) => {
          fail(err.code === "ENOENT" ? missingKubectl(binary) : err);
        });
        child.once("close", (code, signal) => {
          if (code === 0) ok();
          else fail(new KubectlFailed(firstLine(stderr) || `exited ${code ?? signal ?? "?"}`));
        });
      });
      return {
        stdout: child.stdout,
        done,
        kill: () => {
          child.kill();
        },
      };
    },
  };
}

export interface FetchOptions {
  readonly namespace: string;
  readonly runId: string;
  /** A new or empty folder: the merged reports at its top, the shards' folders as shard-I/. */
  readonly outputDir: string;
  readonly kubectl: Kubectl;
  /** One line when what it waits on changes. */
  readonly log?: (line: string) => void;
  /** Between polls; default 10 s. */
  readonly intervalMs?: number;
  /** How long the merge pod may be unmade or Pending, or kubectl fail, before the fetch gives up; default 15 min. */
  readonly stuckMs?: number;
  /** Free bytes where `outputDir` is: the most the files may add up to. Default: the filesystem's. */
  readonly room?: (dir: string) => Promise<number>;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface Fetched {
  /** The merge pod read. */
  readonly pod: string;
  /** The merge's exit code: 0 pass, 99 thresholds failed, 1 incomplete. */
  readonly exitCode: number;
  readonly verdict: string | undefined;
  /** The names written under `outputDir`. */
  readonly files: readonly string[];
  readonly outputDir: string;
}

const sleepFor = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

/** A folder to write into: made if absent, refused if anything is in it already. */
async function emptyFolder(dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    await mkdir(path, { recursive: true });
    const inside = await readdir(path);
    if (inside.length > 0)
      throw new ResultsError("output", `${path} is not empty: fetch into a new folder (-o)`);
  } catch (err) {
    if (err instanceof ResultsError) throw err;
    throw new ResultsError("output", `cannot make ${path}: ${messageOf(err)}: pass another folder (-o)`);
  }
  return path;
}

class Fetch {
  private readonly job: string;
  private readonly namespace: string;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private last = "";

  constructor(private readonly options: FetchOptions) {
    this.namespace = requireDnsLabel("--namespace", options.namespace);
    this.job = requireDnsLabel(
      "the merge Job's name (lkswarm-<run id>-merge; check --run-id)",
      `lkswarm-${requireLabelValue("--run-id", options.runId)}-merge`,
    );
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
  }

  private say(line: string): void {
    if (line !== this.last) this.log(line);
    this.last = line;
  }

  private proxy(pod: string, path: string): string {
    return `/api/v1/namespaces/${this.namespace}/pods/${pod}:${METRICS_PORT}/proxy${path}`;
  }

  /** The merge pod once it serves its finished folder; throws when it never will. */
  private async ready(outputDir: string): Promise<{ readonly pod: string; readonly listing: Listing }> {
    const { kubectl: k, intervalMs = 10_000, stuckMs = 15 * 60_000 } = this.options;
    const sleep = this.options.sleep ?? sleepFor;
    const room = this.options.room ?? freeBytes;
    let stuckSince = this.now();
    let jobSeen = false;
    const stuck = (why: string, fix: string) => {
      if (this.now() - stuckSince < stuckMs) return;
      throw new ResultsError("not-fetched", `${why} for ${formatDuration(stuckMs)}: ${fix}`);
    };
    for (;;) {
      let pods: Pod[] | undefined;
      try {
        pods = podsOf(
          JSON.parse(
            await k.text([
              "get",
              "pods",
              "-n",
              this.namespace,
              "-l",
              `batch.kubernetes.io/job-name=${this.job}`,
              "-o",
              "json",
            ]),
          ),
        );
      } catch (err) {
        if (!(err instanceof KubectlFailed) && !(err instanceof SyntaxError)) throw err;
        this.say(`kubectl get pods: ${messageOf(err)}; retrying`);
        stuck("kubectl has failed", `check kubectl's context and access to namespace ${this.namespace}`);
      }
      const pod = pods?.sort((a, b) => b.createdMs - a.createdMs)[0];
      if (pods !== undefined && pod === undefined) {
        if (!jobSeen) {
          try {
            await k.text(["get", "job", this.job, "-n", this.namespace, "-o", "name"]);
            jobSeen = true;
          } catch (err) {
            if (!(err instanceof KubectlFailed)) throw err;
            if (/NotFound|not found/.test(err.message))
              throw new ResultsError(
                "not-fetched",
                `no job ${this.job} in namespace ${this.namespace}: check --run-id and --namespace (kubectl -n ${this.namespace} get jobs -l app.kubernetes.io/name=livekit-swarm)`,
              );
          }
        }
        this.say(`job ${this.job}: no pod yet`);
        stuck(`job ${this.job} has had no pod`, `kubectl -n ${this.namespace} describe job ${this.job}`);
      } else if (pod !== undefined) {
        if (pod.phase === "Succeeded" || pod.phase === "Failed")
          throw new ResultsError(
            "not-fetched",
            `the merge pod ${pod.name} ended${pod.exit !== undefined ? ` (exit ${pod.exit.code})` : ""} before its results were fetched, so they are gone; its log holds the verdict: kubectl -n ${this.namespace} logs ${pod.name}`,
          );
        if (pod.phase !== "Running") {
          this.say(`merge pod ${pod.name}: ${pod.phase}`);
          stuck(
            `the merge pod ${pod.name} has been ${pod.phase}`,
            `kubectl -n ${this.namespace} describe pod ${pod.name}`,
          );
        } else {
          stuckSince = this.now();
          const listing = await this.listing(pod.name, await room(outputDir));
          if (listing?.state === "ready") return { pod: pod.name, listing };
          this.say(
            listing === undefined
              ? `merge pod ${pod.name}: does not answer at :${METRICS_PORT}${RESULTS_PATH} yet`
              : `merge pod ${pod.name}: collecting the shards' results and merging (the shards run until their planned end)`,
          );
        }
      }
      await sleep(intervalMs);
    }
  }

  /** The merge pod's listing, or undefined when it does not answer (yet); one that is not one throws. */
  private async listing(pod: string, room: number): Promise<Listing | undefined> {
    let text: string;
    try {
      text = await this.options.kubectl.text(["get", "--raw", this.proxy(pod, RESULTS_PATH)], {
        maxBytes: MAX_LISTING_BYTES,
      });
    } catch (err) {
      if (err instanceof KubectlFailed) return undefined;
      throw err;
    }
    return parseListing(
      text,
      { nested: true, maxBytes: room, room: "free where the results go (-o)" },
      `merge pod ${pod}`,
    );
  }

  /** One file into `path`, a few tries when a transfer breaks off; a mismatch is refused at once. */
  private async receive(pod: string, file: Listing["files"][number], path: string): Promise<void> {
    const from = `merge pod ${pod}`;
    for (let attempt = 1; ; attempt++) {
      const kubectl = this.options.kubectl.stream(["get", "--raw", this.proxy(pod, filePath(file.name))]);
      const [received, exited] = await Promise.allSettled([
        receiveFile(kubectl.stdout, path, file, from),
        kubectl.done,
      ]);
      if (received.status === "fulfilled" && exited.status === "fulfilled") return;
      kubectl.kill();
      const err: unknown =
        received.status === "rejected"
          ? received.reason
          : exited.status === "rejected"
            ? exited.reason
            : undefined;
      if (err instanceof ResultsError) throw err;
      if (!(err instanceof TransferError) && !(err instanceof KubectlFailed)) throw err;
      if (attempt >= ATTEMPTS)
        throw new ResultsError(
          "not-fetched",
          `${from}: ${file.name}: ${err.message}; gave up after ${ATTEMPTS} tries`,
        );
      this.log(`${file.name}: ${err.message}; trying again`);
    }
  }

  async run(): Promise<Fetched> {
    const outputDir = await emptyFolder(this.options.outputDir);
    const { pod, listing } = await this.ready(outputDir);
    const total = listing.files.reduce((sum, f) => sum + f.size, 0);
    this.log(
      `merge pod ${pod}: ${listing.files.length} file(s), ${(total / 2 ** 20).toFixed(1)} MiB, into ${outputDir}`,
    );
    for (const file of listing.files) {
      const path = resultPath(outputDir, file.name, true);
      await mkdir(dirname(path), { recursive: true });
      await this.receive(pod, file, path);
    }
    try {
      await this.options.kubectl.text(["create", "--raw", this.proxy(pod, COLLECTED_PATH), "-f", "-"], {
        stdin: "{}",
      });
    } catch (err) {
      if (!(err instanceof KubectlFailed)) throw err;
      this.log(
        `could not tell merge pod ${pod} its results were fetched (${err.message}): it ends at its hold`,
      );
    }
    return {
      pod,
      exitCode: listing.exitCode ?? 1,
      verdict: listing.verdict,
      files: listing.files.map((f) => f.name),
      outputDir,
    };
  }
}

/**
 * Waits for run `runId`'s merge pod to serve its finished folder, downloads every file into
 * `outputDir` (checked), and tells the pod it was fetched. Throws ResultsError when the merge pod
 * ended first, never started, or sent something that is not what it listed.
 */
export async function fetchRun(options: FetchOptions): Promise<Fetched> {
  return new Fetch(options).run();
}
