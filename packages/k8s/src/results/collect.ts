/**
 * The merge's collection: every shard's folder pulled from its pod over the pod's IP, which every
 * conforming cluster routes (no volume shared between pods, no cluster DNS, no kube-proxy). The
 * shard Job's pods come from the API; each running shard's `/results` is polled until it lists its
 * finished folder, then every file is downloaded into `<output>/shard-I/`, checked against the
 * listing (size, sha256), and the shard is told it was collected, which ends it. A shard whose pod
 * failed, ended uncollected or vanished, or whose files do not match, is left out: `swarm merge`
 * names it missing. Every wait ends by the shard Job's own deadline.
 */
import { mkdir, rename, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { K8sError, ResultsError } from "../errors.js";
import { apiGet, podsOf, shardJob, type InClusterApi, type Pod, type ShardJob } from "../api.js";
import { METRICS_PORT } from "../manifests.js";
import {
  COLLECTED_PATH,
  MAX_LISTING_BYTES,
  RESULTS_PATH,
  filePath,
  parseListing,
  resultPath,
  textAtMost,
  type Listing,
} from "./listing.js";
import { TransferError, receiveFile } from "./receive.js";

/** A running shard pod, where its results are served. */
export interface ShardPod {
  readonly index: number;
  readonly name: string;
  readonly ip: string;
}

export interface CollectOptions {
  readonly api: InClusterApi;
  /** The shard Job. */
  readonly job: string;
  /** Shard I goes to `<outputDir>/shard-I/`. */
  readonly outputDir: string;
  /** The most every shard's files may add up to: what the merge's volume holds. Default: the free space in `outputDir`. */
  readonly maxBytes?: number;
  /** Between polls of the API and of the shards; default 5 s. */
  readonly intervalMs?: number;
  /** How long past the shard Job's deadline to keep trying; default 2 min (a pod's grace and a transfer). */
  readonly graceMs?: number;
  /** Shards downloaded at once; default 4. */
  readonly concurrency?: number;
  /** Where a shard pod serves: default `http://<pod IP>:9464`. */
  readonly origin?: (pod: ShardPod) => string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** One line per shard's outcome and when the tally changes. */
  readonly log?: (line: string) => void;
}

export type ShardOutcome =
  | { readonly index: number; readonly collected: true; readonly files: number; readonly bytes: number }
  | { readonly index: number; readonly collected: false; readonly reason: string };

/** Tries at a shard's download that broke off before it counts as missing. */
const ATTEMPTS = 3;
/** A listing is small and the pod is a hop away: longer is a pod that does not answer. */
const LISTING_TIMEOUT_MS = 10_000;
/** The most shards `swarm k8s render` writes. */
const MAX_SHARDS = 10_000;
/** Listings asked for at once: a round over 1024 shards must not wait on each in turn. */
const POLLS_AT_ONCE = 32;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function defaultOrigin(pod: ShardPod): string {
  return `http://${pod.ip.includes(":") ? `[${pod.ip}]` : pod.ip}:${METRICS_PORT}`;
}

async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Runs `work` over `items`, at most `n` at a time. */
async function inPool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const lanes = Array.from({ length: Math.min(n, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(lanes);
}

/** The pod to read for a shard: a running one if any, else the newest. */
function podOf(pods: readonly Pod[], index: number): Pod | undefined {
  const mine = pods.filter((p) => p.index === index).sort((a, b) => b.createdMs - a.createdMs);
  return mine.find((p) => p.phase === "Running") ?? mine[0];
}

interface ShardState {
  readonly index: number;
  outcome?: ShardOutcome;
  /** The pod seen last, to tell a pod that vanished from one never made. */
  seen?: string;
  downloading?: Promise<void>;
  attempts: number;
  /** What it waits on, for the log when it changes. */
  waiting?: string;
}

class Collection {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly origin: (pod: ShardPod) => string;
  private readonly stop = new AbortController();
  private readonly shards: ShardState[] = [];
  private reserved = 0;
  private maxBytes = 0;
  private job: ShardJob | undefined;
  private lastTally = "";
  private lastApiProblem = "";

  constructor(private readonly options: CollectOptions) {
    this.fetch = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
    this.origin = options.origin ?? defaultOrigin;
  }

  private get jobPath(): string {
    const { api, job } = this.options;
    return `/apis/batch/v1/namespaces/${encodeURIComponent(api.namespace)}/jobs/${encodeURIComponent(job)}`;
  }

  private get podsPath(): string {
    const { api, job } = this.options;
    const selector = encodeURIComponent(`batch.kubernetes.io/job-name=${job}`);
    return `/api/v1/namespaces/${encodeURIComponent(api.namespace)}/pods?labelSelector=${selector}`;
  }

  private get grace(): number {
    return this.options.graceMs ?? 2 * 60_000;
  }

  /** The shard Job's deadline plus the grace: past it Kubernetes has ended every shard pod. */
  private deadline(job: ShardJob, firstSeenMs: number): number {
    return (job.startMs ?? firstSeenMs) + (job.activeDeadlineSeconds ?? 0) * 1000 + this.grace;
  }

  private apiProblem(line: string): void {
    if (line !== this.lastApiProblem) this.log(line);
    this.lastApiProblem = line;
  }

  /** The shard Job, read until it answers (at most the grace): its shard count and deadline. */
  private async readJob(): Promise<ShardJob> {
    const { job, intervalMs = 5000 } = this.options;
    const sleep = this.options.sleep ?? sleepFor;
    const giveUp = this.now() + this.grace;
    for (;;) {
      const read = await apiGet(this.options.api, this.jobPath, `job ${job}`, this.fetch);
      if ("json" in read) return shardJob(read.json);
      if (this.now() >= giveUp)
        throw new K8sError(
          "api",
          `cannot read job ${job} from the API server at ${this.options.api.base} (${read.retrying}): is the API server reachable from the merge pod?`,
        );
      this.apiProblem(`job ${job}: cannot read it yet (${read.retrying}); retrying`);
      await sleep(intervalMs);
    }
  }

  async run(): Promise<ShardOutcome[]> {
    const { job, intervalMs = 5000 } = this.options;
    await mkdir(this.options.outputDir, { recursive: true });
    this.maxBytes = this.options.maxBytes ?? (await freeBytes(this.options.outputDir));
    const sleep = this.options.sleep ?? sleepFor;
    const first = await this.readJob();
    const started = this.now();
    const shards = first.completions;
    if (shards === undefined || shards < 1 || shards > MAX_SHARDS)
      throw new K8sError(
        "bad-input",
        `job ${job} has ${shards ?? "no"} completions, not 1 to ${MAX_SHARDS}: it is not a shard Job that swarm k8s render wrote`,
      );
    if (first.activeDeadlineSeconds === undefined)
      throw new K8sError(
        "bad-input",
        `job ${job} has no activeDeadlineSeconds, so nothing bounds the wait for its shards: render it with swarm k8s render`,
      );
    this.job = first;
    for (let index = 0; index < shards; index++) this.shards.push({ index, attempts: 0 });
    this.log(
      `job ${job}: ${shards} shard(s); collecting until ${new Date(this.deadline(first, started)).toISOString()} (the shard Job's deadline and a grace)`,
    );
    while (
      this.now() < this.deadline(this.job, started) &&
      this.shards.some((s) => s.outcome === undefined)
    ) {
      await this.round();
      this.tally();
      if (this.shards.some((s) => s.outcome === undefined)) await sleep(intervalMs);
    }
    this.stop.abort(new TransferError("the shard Job's deadline passed"));
    await Promise.all(this.shards.flatMap((s) => (s.downloading !== undefined ? [s.downloading] : [])));
    for (const s of this.shards)
      if (s.outcome === undefined)
        this.settle(s, {
          index: s.index,
          collected: false,
          reason: `not collected before the shard Job's deadline${s.waiting !== undefined ? ` (${s.waiting})` : ""}`,
        });
    this.tally();
    return this.shards.map((s) => s.outcome).filter((o): o is ShardOutcome => o !== undefined);
  }

  private tally(): void {
    const collected = this.shards.filter((s) => s.outcome?.collected === true).length;
    const missing = this.shards.filter((s) => s.outcome?.collected === false).length;
    const line = `${collected} of ${this.shards.length} shard(s) collected, ${missing} missing, ${this.shards.length - collected - missing} to go`;
    if (line !== this.lastTally) this.log(line);
    this.lastTally = line;
  }

  private settle(shard: ShardState, outcome: ShardOutcome): void {
    if (shard.outcome !== undefined) return;
    shard.outcome = outcome;
    this.log(
      outcome.collected
        ? `shard ${outcome.index}: collected ${outcome.files} file(s), ${mib(outcome.bytes)}`
        : `shard ${outcome.index}: missing: ${outcome.reason}`,
    );
  }

  private async round(): Promise<void> {
    const { job } = this.options;
    const jobRead = await apiGet(this.options.api, this.jobPath, `job ${job}`, this.fetch);
    if ("json" in jobRead) this.job = shardJob(jobRead.json);
    const podsRead = await apiGet(this.options.api, this.podsPath, `the pods of job ${job}`, this.fetch);
    if ("retrying" in podsRead) {
      this.apiProblem(`the pods of job ${job}: cannot list them yet (${podsRead.retrying}); retrying`);
      return;
    }
    this.lastApiProblem = "";
    const pods = podsOf(podsRead.json);
    const open = this.shards.filter((s) => s.outcome === undefined && s.downloading === undefined);
    await inPool(open, POLLS_AT_ONCE, (s) => this.check(s, podOf(pods, s.index)));
  }

  private wait(shard: ShardState, why: string): void {
    shard.waiting = why;
  }

  private async check(shard: ShardState, pod: Pod | undefined): Promise<void> {
    const { index } = shard;
    if (pod === undefined) {
      if (shard.seen !== undefined)
        this.settle(shard, { index, collected: false, reason: `its pod ${shard.seen} is gone` });
      else if (this.job?.state.end !== undefined)
        this.settle(shard, {
          index,
          collected: false,
          reason: `the shard Job ended (${this.job.state.end}) and no pod of it was ever listed`,
        });
      else this.wait(shard, "no pod yet");
      return;
    }
    shard.seen = pod.name;
    if (pod.phase === "Succeeded" || pod.phase === "Failed") {
      const exit =
        pod.exit !== undefined
          ? ` (exit ${pod.exit.code}${pod.exit.reason !== "" ? `, ${pod.exit.reason}` : ""})`
          : "";
      this.settle(shard, {
        index,
        collected: false,
        reason: `its pod ${pod.name} ${pod.phase === "Failed" ? "failed" : "ended"}${exit} before its results were collected: kubectl logs ${pod.name}`,
      });
      return;
    }
    if (pod.phase !== "Running" || pod.ip === undefined) {
      this.wait(shard, `pod ${pod.name} ${pod.phase}`);
      return;
    }
    const origin = this.origin({ index, name: pod.name, ip: pod.ip });
    const from = `shard ${index} (pod ${pod.name}, ${origin})`;
    let listing: Listing | undefined;
    try {
      listing = await this.list(origin, from);
    } catch (err) {
      if (!(err instanceof ResultsError)) throw err;
      this.settle(shard, { index, collected: false, reason: err.message });
      return;
    }
    if (listing === undefined) {
      this.wait(shard, `pod ${pod.name} does not answer at ${origin}${RESULTS_PATH} yet`);
      return;
    }
    if (listing.state === "running") {
      this.wait(shard, `pod ${pod.name} is running its share of the run`);
      return;
    }
    const downloading = this.shards.filter((s) => s.downloading !== undefined).length;
    if (downloading >= (this.options.concurrency ?? 4)) {
      this.wait(shard, "ready; waiting for other shards' downloads");
      return;
    }
    const bytes = listing.files.reduce((sum, f) => sum + f.size, 0);
    if (this.reserved + bytes > this.maxBytes) {
      this.settle(shard, {
        index,
        collected: false,
        reason: `${from}: its files (${mib(bytes)}) do not fit in what is left of the merge's volume (${mib(this.maxBytes - this.reserved)} of ${mib(this.maxBytes)}; swarm k8s merge --max-gib)`,
      });
      return;
    }
    this.reserved += bytes;
    this.wait(shard, "downloading");
    shard.downloading = this.download(shard, listing, origin, from).finally(() => {
      shard.downloading = undefined;
    });
  }

  /** The shard's listing, or undefined when it does not answer (yet); a listing that is not one throws. */
  private async list(origin: string, from: string): Promise<Listing | undefined> {
    let response: Response;
    try {
      response = await this.fetch(`${origin}${RESULTS_PATH}`, {
        signal: AbortSignal.any([AbortSignal.timeout(LISTING_TIMEOUT_MS), this.stop.signal]),
      });
    } catch {
      return undefined;
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      return undefined;
    }
    let text: string;
    try {
      text = await textAtMost(response.body, MAX_LISTING_BYTES, from);
    } catch (err) {
      if (err instanceof ResultsError) throw err;
      return undefined;
    }
    return parseListing(
      text,
      {
        nested: false,
        maxBytes: this.maxBytes,
        room: "the merge's volume holds (swarm k8s merge --max-gib)",
      },
      from,
    );
  }

  private async download(shard: ShardState, listing: Listing, origin: string, from: string): Promise<void> {
    const { index } = shard;
    const partial = join(this.options.outputDir, `shard-${index}.partial`);
    const folder = join(this.options.outputDir, `shard-${index}`);
    const bytes = listing.files.reduce((sum, f) => sum + f.size, 0);
    try {
      await rm(partial, { recursive: true, force: true });
      await mkdir(partial, { recursive: true });
      for (const file of listing.files) {
        const response = await this.fetch(`${origin}${filePath(file.name)}`, { signal: this.stop.signal });
        if (!response.ok || response.body === null) {
          await response.body?.cancel();
          throw new TransferError(`${from}: ${file.name}: HTTP ${response.status}`);
        }
        await receiveFile(response.body, resultPath(partial, file.name, false), file, from, {
          signal: this.stop.signal,
        });
      }
      await rm(folder, { recursive: true, force: true });
      await rename(partial, folder);
    } catch (err) {
      this.reserved -= bytes;
      await rm(partial, { recursive: true, force: true });
      if (err instanceof ResultsError) {
        this.settle(shard, { index, collected: false, reason: err.message });
        return;
      }
      if (this.stop.signal.aborted) return;
      shard.attempts += 1;
      if (shard.attempts >= ATTEMPTS)
        this.settle(shard, {
          index,
          collected: false,
          reason: `${messageOf(err)}; gave up after ${ATTEMPTS} tries`,
        });
      else this.log(`shard ${index}: ${messageOf(err)}; trying again`);
      return;
    }
    this.settle(shard, { index, collected: true, files: listing.files.length, bytes });
    await this.tell(origin, from);
  }

  /** Tells the shard it was collected, which ends it; if it does not hear, it ends at its hold. */
  private async tell(origin: string, from: string): Promise<void> {
    try {
      const response = await this.fetch(`${origin}${COLLECTED_PATH}`, {
        method: "POST",
        signal: AbortSignal.timeout(LISTING_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch (err) {
      this.log(
        `${from}: could not say it was collected (${messageOf(err)}): it ends at its --serve-results hold`,
      );
    }
  }
}

/**
 * Collects every shard of `job` into `outputDir`, one outcome per shard index. Throws only when
 * the collection cannot start (the Job cannot be read, is refused, or is not a rendered shard Job).
 */
export async function collectShards(options: CollectOptions): Promise<ShardOutcome[]> {
  return new Collection(options).run();
}
