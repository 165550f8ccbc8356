import { describe, expect, it } from "vitest";
import { K8sError } from "./errors.js";
import { inClusterApi, jobState, waitForJob, type InClusterApi, type JobState } from "./job-wait.js";

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
    if (next === undefined) throw new Error("more polls than replies");
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  return { fetch, seen };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

describe("waitForJob", () => {
  it("polls through running, server errors and network errors until the Job ends, Failed included", async () => {
    const { fetch, seen } = replies(
      json({ status: { active: 4 } }),
      json({ message: "overloaded" }, 503),
      new Error("ECONNRESET"),
      json({
        status: {
          conditions: [{ type: "Failed", status: "True" }],
          succeeded: 3,
          failed: 1,
          failedIndexes: "2",
        },
      }),
    );
    const polls: (JobState | { retrying: string })[] = [];
    const slept: number[] = [];
    const state = await waitForJob({
      api,
      job: "lkswarm-x",
      intervalMs: 10_000,
      fetch,
      sleep: (ms) => Promise.resolve(void slept.push(ms)),
      onPoll: (p) => polls.push(p),
    });
    expect(state).toEqual({ end: "Failed", succeeded: 3, failed: 1, failedIndexes: "2" });
    expect(slept).toEqual([10_000, 10_000, 10_000]);
    expect(seen.map((s) => s.url)).toEqual(
      Array(4).fill("https://10.0.0.1:443/apis/batch/v1/namespaces/load/jobs/lkswarm-x"),
    );
    expect(seen.every((s) => s.auth === "Bearer token-1")).toBe(true);
    expect(polls.map((p) => ("retrying" in p ? p.retrying : (p.end ?? "running")))).toEqual([
      "running",
      "HTTP 503",
      "ECONNRESET",
      "Failed",
    ]);
  });

  it("stops at once when the API refuses or the Job does not exist, naming the fix", async () => {
    const sleep = () => Promise.resolve();
    await expect(
      waitForJob({ api, job: "j", intervalMs: 1, fetch: replies(json({}, 403)).fetch, sleep }),
    ).rejects.toThrow(/HTTP 403\): apply the ServiceAccount, Role and RoleBinding/);
    await expect(
      waitForJob({ api, job: "j", intervalMs: 1, fetch: replies(json({}, 404)).fetch, sleep }),
    ).rejects.toThrow(K8sError);
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
});
