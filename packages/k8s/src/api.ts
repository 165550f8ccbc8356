/**
 * The Kubernetes API as a pod sees it, for the merge: the API server from the pod's environment,
 * the service-account token read at each request, and the two reads the merge makes (its shard
 * Job, and that Job's pods). It needs `get` on that one Job and `list` on pods (the Role rendered
 * beside it), and no kubectl in the image: Node trusts the API server's certificate through
 * `NODE_EXTRA_CA_CERTS` pointed at the service account's CA, which the merge Job sets.
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { messageOf } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";

export type JobEnd = "Complete" | "Failed";

export interface JobState {
  readonly end: JobEnd | undefined;
  readonly succeeded: number;
  readonly failed: number;
  /** The indexes of an Indexed Job whose pod failed, as Kubernetes writes them ("1,3-5"). */
  readonly failedIndexes: string;
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}

const count = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

/** A Job's state from its JSON: the terminal condition set to True, if any, and its counts. */
export function jobState(job: unknown): JobState {
  const status = record(record(job).status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
  const end = conditions.find(
    (c) => c.status === "True" && (c.type === "Complete" || c.type === "Failed"),
  )?.type;
  return {
    end: end === "Complete" || end === "Failed" ? end : undefined,
    succeeded: count(status.succeeded) ?? 0,
    failed: count(status.failed) ?? 0,
    failedIndexes: typeof status.failedIndexes === "string" ? status.failedIndexes : "",
  };
}

/** What the merge reads of its shard Job: how many shards, and until when they may run. */
export interface ShardJob {
  readonly state: JobState;
  /** `spec.completions`: the shard count. */
  readonly completions: number | undefined;
  readonly activeDeadlineSeconds: number | undefined;
  /** `status.startTime`, epoch ms: the deadline counts from it. */
  readonly startMs: number | undefined;
}

export function shardJob(job: unknown): ShardJob {
  const { spec, status } = record(job);
  const start = record(status).startTime;
  const startMs = typeof start === "string" ? Date.parse(start) : Number.NaN;
  return {
    state: jobState(job),
    completions: count(record(spec).completions),
    activeDeadlineSeconds: count(record(spec).activeDeadlineSeconds),
    startMs: Number.isNaN(startMs) ? undefined : startMs,
  };
}

/** What the merge and the fetch read of a pod. */
export interface Pod {
  readonly name: string;
  /** The Indexed Job's completion index (its annotation), if a valid one. */
  readonly index: number | undefined;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** A valid IPv4 or IPv6 address, once the pod has one. */
  readonly ip: string | undefined;
  readonly createdMs: number;
  /** The first container's end, once it ended. */
  readonly exit: { readonly code: number; readonly reason: string } | undefined;
}

const PHASES = new Set(["Pending", "Running", "Succeeded", "Failed"]);
const COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index";
const POD_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The pods of a pod list (the API's or kubectl's JSON), each checked; a malformed item is left out. */
export function podsOf(list: unknown): Pod[] {
  const items = record(list).items;
  if (!Array.isArray(items)) return [];
  return items.flatMap((item): Pod[] => {
    const { metadata, status } = record(item);
    const meta = record(metadata);
    const name = meta.name;
    if (typeof name !== "string" || !POD_NAME.test(name)) return [];
    const indexText = record(meta.annotations)[COMPLETION_INDEX];
    const index =
      typeof indexText === "string" && /^(0|[1-9][0-9]{0,4})$/.test(indexText)
        ? Number(indexText)
        : undefined;
    const s = record(status);
    const phase = typeof s.phase === "string" && PHASES.has(s.phase) ? (s.phase as Pod["phase"]) : "Unknown";
    const ip = typeof s.podIP === "string" && isIP(s.podIP) !== 0 ? s.podIP : undefined;
    const created = typeof meta.creationTimestamp === "string" ? Date.parse(meta.creationTimestamp) : 0;
    const statuses = Array.isArray(s.containerStatuses) ? s.containerStatuses.map(record) : [];
    const terminated = record(record(statuses[0]?.state).terminated);
    const code = terminated.exitCode;
    const exit =
      typeof code === "number" && Number.isInteger(code)
        ? { code, reason: typeof terminated.reason === "string" ? terminated.reason.slice(0, 64) : "" }
        : undefined;
    return [{ name, index, phase, ip, createdMs: Number.isNaN(created) ? 0 : created, exit }];
  });
}

/** Where the API server is and who this pod is, as every pod sees it. */
export interface InClusterApi {
  readonly base: string;
  readonly namespace: string;
  /** Read at each request: the kubelet rotates the projected token file. */
  readonly token: () => Promise<string>;
}

export const ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The API server and this pod's namespace and token, from the pod's environment and its
 * service-account folder (`accountDir`: a test's own folder of `namespace` and `token`).
 */
export async function inClusterApi(
  env: NodeJS.ProcessEnv = process.env,
  read: (path: string) => Promise<string> = (p) => readFile(p, "utf8"),
  accountDir: string = ACCOUNT_DIR,
): Promise<InClusterApi> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined || host === "")
    throw new K8sError(
      "api",
      "not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset): `swarm k8s merge` runs in the merge Job that `swarm k8s render` writes; from outside, use `swarm k8s fetch`",
    );
  let namespace: string;
  try {
    namespace = (await read(`${accountDir}/namespace`)).trim();
  } catch {
    throw new K8sError(
      "api",
      `cannot read ${accountDir}/namespace: the pod needs its service-account token mounted (automountServiceAccountToken)`,
    );
  }
  return {
    base: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    namespace,
    token: async () => (await read(`${accountDir}/token`)).trim(),
  };
}

/** How long one API request may take: a list of a thousand pods is a few MB. */
const API_TIMEOUT_MS = 30_000;

/**
 * GETs `path` of the API as JSON. A refusal (401, 403) or a missing object (404) throws at once
 * naming the fix; a network or server error returns `{ retrying }`: the caller tries again later.
 */
export async function apiGet(
  api: InClusterApi,
  path: string,
  what: string,
  fetchFn: typeof fetch = fetch,
): Promise<{ readonly json: unknown } | { readonly retrying: string }> {
  let response: Response;
  try {
    response = await fetchFn(`${api.base}${path}`, {
      headers: { authorization: `Bearer ${await api.token()}`, accept: "application/json" },
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch (err) {
    return { retrying: messageOf(err) };
  }
  if (response.status === 401 || response.status === 403)
    throw new K8sError(
      "api",
      `the API server refused to show ${what} in namespace ${api.namespace} (HTTP ${response.status}): apply the ServiceAccount, Role and RoleBinding rendered with the merge Job`,
    );
  if (response.status === 404)
    throw new K8sError(
      "api",
      `${what} does not exist in namespace ${api.namespace}: apply the shard Job rendered with this merge Job`,
    );
  if (!response.ok) {
    await response.body?.cancel();
    return { retrying: `HTTP ${response.status}` };
  }
  try {
    return { json: await response.json() };
  } catch (err) {
    return { retrying: `unreadable answer: ${messageOf(err)}` };
  }
}
