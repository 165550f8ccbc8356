import { describe, expect, it } from "vitest";
import { K8sError } from "./errors.js";
import { apiGet, inClusterApi, jobState, podsOf, shardJob, type InClusterApi } from "./api.js";

describe("jobState", () => {
  it("ends on a Complete or Failed condition that is True, not on other conditions", () => {
    expect(jobState({ status: { active: 3 } }).end).toBeUndefined();
    expect(
      jobState({ status: { conditions: [{ type: "FailureTarget", status: "True" }] } }).end,
    ).toBeUndefined();
    expect(jobState({ status: { conditions: [{ type: "Complete", status: "False" }] } }).end).toBeUndefined();
    expect(
      jobState({
        status: {
          conditions: [
            { type: "SuccessCriteriaMet", status: "True" },
            { type: "Complete", status: "True" },
          ],
          succeeded: 8,
        },
      }),
    ).toEqual({
      end: "Complete",
      succeeded: 8,
      failed: 0,
      failedIndexes: "",
    });
    expect(
      jobState({
        status: {
          conditions: [{ type: "Failed", status: "True" }],
          succeeded: 6,
          failed: 2,
          failedIndexes: "1,5",
        },
      }),
    ).toEqual({
      end: "Failed",
      succeeded: 6,
      failed: 2,
      failedIndexes: "1,5",
    });
    expect(jobState(null).end).toBeUndefined();
  });
});

const api: InClusterApi = {
  base: "https://10.0.0.1:443",
  namespace: "load",
  token: () => Promise.resolve("token-1"),
};

function replies(...items: (Response | Error)[]) {
  const seen: { url: string; auth: string | null }[] = [];
  const fetch = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    seen.push({
      url: typeof url === "string" ? url : url instanceof URL ? url.href : url.url,
      auth: new Headers(init?.headers).get("authorization"),
    });
    const next = items.shift();
    if (next === undefined) throw new Error("more requests than replies");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { fetch, seen };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("apiGet", () => {
  it("reads JSON with the pod's token, and says to retry on a server or network error", async () => {
    const { fetch, seen } = replies(
      json({ status: { active: 4 } }),
      json({ message: "overloaded" }, 503),
      new Error("ECONNRESET"),
    );
    const path = "/apis/batch/v1/namespaces/load/jobs/lkswarm-x";
    expect(await apiGet(api, path, "job lkswarm-x", fetch)).toEqual({ json: { status: { active: 4 } } });
    expect(await apiGet(api, path, "job lkswarm-x", fetch)).toEqual({ retrying: "HTTP 503" });
    expect(await apiGet(api, path, "job lkswarm-x", fetch)).toEqual({ retrying: "ECONNRESET" });
    expect(seen.map((s) => s.url)).toEqual(Array(3).fill(`https://10.0.0.1:443${path}`));
    expect(seen.every((s) => s.auth === "Bearer token-1")).toBe(true);
  });

  it("stops at once when the API refuses or the object does not exist, naming the fix", async () => {
    await expect(apiGet(api, "/x", "job j", replies(json({}, 403)).fetch)).rejects.toThrow(
      /refused to show job j in namespace load \(HTTP 403\): apply the ServiceAccount, Role and RoleBinding/,
    );
    await expect(apiGet(api, "/x", "job j", replies(json({}, 404)).fetch)).rejects.toThrow(K8sError);
  });
});

describe("shardJob and podsOf", () => {
  it("reads a shard Job's count, deadline and start", () => {
    expect(
      shardJob({
        spec: { completions: 8, activeDeadlineSeconds: 1800 },
        status: { startTime: "2026-11-23T06:00:00Z", active: 8 },
      }),
    ).toEqual({
      state: { end: undefined, succeeded: 0, failed: 0, failedIndexes: "" },
      completions: 8,
      activeDeadlineSeconds: 1800,
      startMs: Date.parse("2026-11-23T06:00:00Z"),
    });
    expect(shardJob({ spec: { completions: -1, activeDeadlineSeconds: "1h" } })).toMatchObject({
      completions: undefined,
      activeDeadlineSeconds: undefined,
      startMs: undefined,
    });
  });

  it("reads each pod's index, phase, IP and exit, and leaves out or blanks what is malformed", () => {
    const pods = podsOf({
      items: [
        {
          metadata: {
            name: "lkswarm-x-3-abcde",
            creationTimestamp: "2026-11-23T06:00:00Z",
            annotations: { "batch.kubernetes.io/job-completion-index": "3" },
          },
          status: {
            phase: "Failed",
            podIP: "fd00::5",
            containerStatuses: [{ state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }],
          },
        },
        {
          metadata: {
            name: "lkswarm-x-1-abcde",
            annotations: { "batch.kubernetes.io/job-completion-index": "01" },
          },
          status: { phase: "Exploded", podIP: "10.0.0.5; rm -rf /" },
        },
        { metadata: { name: "../etc" }, status: { phase: "Running" } },
        "not a pod",
      ],
    });
    expect(pods).toEqual([
      {
        name: "lkswarm-x-3-abcde",
        index: 3,
        phase: "Failed",
        ip: "fd00::5",
        createdMs: Date.parse("2026-11-23T06:00:00Z"),
        exit: { code: 137, reason: "OOMKilled" },
      },
      {
        name: "lkswarm-x-1-abcde",
        index: undefined,
        phase: "Unknown",
        ip: undefined,
        createdMs: 0,
        exit: undefined,
      },
    ]);
    expect(podsOf({ items: "none" })).toEqual([]);
  });
});

describe("inClusterApi", () => {
  const files: Record<string, string> = {
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace": "load\n",
    "/var/run/secrets/kubernetes.io/serviceaccount/token": "abc\n",
  };
  const read = (p: string) =>
    p in files ? Promise.resolve(files[p] ?? "") : Promise.reject(new Error("ENOENT"));

  it("finds the API server from the pod's environment, brackets IPv6 and reads the token at each call", async () => {
    const v4 = await inClusterApi(
      { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
      read,
    );
    expect(v4.base).toBe("https://10.96.0.1:443");
    expect(v4.namespace).toBe("load");
    expect(await v4.token()).toBe("abc");
    expect((await inClusterApi({ KUBERNETES_SERVICE_HOST: "fd00::1" }, read)).base).toBe(
      "https://[fd00::1]:443",
    );
  });

  it("says it must run inside a pod when there is no API server", async () => {
    await expect(inClusterApi({}, read)).rejects.toThrow(/not inside a Kubernetes pod/);
    await expect(
      inClusterApi({ KUBERNETES_SERVICE_HOST: "10.96.0.1" }, () => Promise.reject(new Error("ENOENT"))),
    ).rejects.toThrow(/automountServiceAccountToken/);
  });

  it("reads the namespace and token from the folder it is given (a test's own)", async () => {
    const own = await inClusterApi(
      { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: "6443" },
      (p) =>
        p.startsWith("/srv/account/")
          ? Promise.resolve(`${p.slice(13)}\n`)
          : Promise.reject(new Error("ENOENT")),
      "/srv/account",
    );
    expect([own.base, own.namespace, await own.token()]).toEqual([
      "https://127.0.0.1:6443",
      "namespace",
      "token",
    ]);
  });
});
