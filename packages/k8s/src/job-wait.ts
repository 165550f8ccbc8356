/**
 * The merge's wait for the shards: polls the shard Job through the Kubernetes API with the pod's
 * service-account token until the Job is Complete or Failed. Both end the wait: a failed shard is
 * for the merge to name, not a reason to skip it. Needs only `get` on that one Job (the Role
 * rendered beside it), and no kubectl in the image.
 */
import { readFile } from "node:fs/promises";
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

/** A Job's state from its JSON: the terminal condition set to True, if any, and its counts. */
export function jobState(job: unknown): JobState {
  const status = record(record(job).status);
  const conditions = Array.isArray(status.conditions) ? status.conditions.map(record) : [];
  const end = conditions.find(
    (c) => c.status === "True" && (c.type === "Complete" || c.type === "Failed"),
  )?.type;
  const count = (v: unknown) => (typeof v === "number" ? v : 0);
  return {
    end: end === "Complete" || end === "Failed" ? end : undefined,
    succeeded: count(status.succeeded),
    failed: count(status.failed),
    failedIndexes: typeof status.failedIndexes === "string" ? status.failedIndexes : "",
  };
}

/** Where the API server is and who this pod is, as every pod sees it. */
export interface InClusterApi {
  readonly base: string;
  readonly namespace: string;
  /** Read at each request: the kubelet rotates the projected token file. */
  readonly token: () => Promise<string>;
}

const ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export async function inClusterApi(
  env: NodeJS.ProcessEnv = process.env,
  read: (path: string) => Promise<string> = (p) => readFile(p, "utf8"),
): Promise<InClusterApi> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined || host === "")
    throw new K8sError(
      "api",
      "not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset): `swarm k8s wait` runs in the merge Job that `swarm k8s render` writes",
    );
  let namespace: string;
  try {
    namespace = (await read(`${ACCOUNT_DIR}/namespace`)).trim();
  } catch {
    throw new K8sError(
      "api",
      `cannot read ${ACCOUNT_DIR}/namespace: the pod needs its service-account token mounted (automountServiceAccountToken)`,
    );
  }
  return {
    base: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    namespace,
    token: async () => (await read(`${ACCOUNT_DIR}/token`)).trim(),
  };
}

export interface WaitOptions {
  readonly api: InClusterApi;
  readonly job: string;
  readonly intervalMs: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Each poll's outcome, for a log line: the state, or why the API could not be read this time. */
  readonly onPoll?: (state: JobState | { readonly retrying: string }) => void;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the Job ends; a refused or missing Job throws at once, a network or server error is retried. */
export async function waitForJob(options: WaitOptions): Promise<JobState> {
  const { api, job } = options;
  const get = options.fetch ?? fetch;
  const sleep = options.sleep ?? sleepFor;
  const url = `${api.base}/apis/batch/v1/namespaces/${encodeURIComponent(api.namespace)}/jobs/${encodeURIComponent(job)}`;
  for (;;) {
    let response: Response | undefined;
    try {
      response = await get(url, {
        headers: { authorization: `Bearer ${await api.token()}`, accept: "application/json" },
      });
    } catch (err) {
      options.onPoll?.({ retrying: err instanceof Error ? err.message : String(err) });
    }
    if (response !== undefined) {
      if (response.status === 401 || response.status === 403)
        throw new K8sError(
          "api",
          `the API server refused to show job ${job} in namespace ${api.namespace} (HTTP ${response.status}): apply the ServiceAccount, Role and RoleBinding rendered with the merge Job`,
        );
      if (response.status === 404)
        throw new K8sError(
          "api",
          `job ${job} does not exist in namespace ${api.namespace}: apply the shard Job rendered with this merge Job`,
        );
      if (response.ok) {
        const state = jobState(await response.json());
        options.onPoll?.(state);
        if (state.end !== undefined) return state;
      } else {
        options.onPoll?.({ retrying: `HTTP ${response.status}` });
      }
    }
    await sleep(options.intervalMs);
  }
}
