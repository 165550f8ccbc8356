import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseScenario } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";
import {
  resultsVolumeGiB,
  runManifests,
  shardDeadlineSeconds,
  shardServingSeconds,
  type RenderOptions,
} from "./manifests.js";
import { renderYaml } from "./render.js";
import type { Job } from "./types.js";

const scenarioText =
  "# radio\nname: radio\nrooms: 12\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: 4\nduration: 2m\nnum-per-second: 10\n";
const now = new Date("2026-11-23T06:00:00.000Z");
const base: RenderOptions = {
  scenario: parseScenario(scenarioText, "radio.yaml"),
  scenarioText,
  shards: 4,
  image: "registry.example.com/livekit-swarm:1.0",
  engine: "native",
  namespace: "load",
  secret: "livekit-api",
  url: "wss://livekit.example.com",
  runId: "20261123-060000-ab12",
  startAt: new Date(now.getTime() + 180_000),
  now,
};

/** The rendered stream read back as kubectl reads it: YAML 1.1. */
function readBack(options: RenderOptions): unknown[] {
  return parseAllDocuments(renderYaml(runManifests(options).manifests), { version: "1.1" }).map((d) => {
    expect(d.errors).toEqual([]);
    const js: unknown = d.toJS();
    return js;
  });
}

function arg(job: Job, flag: string): string | undefined {
  const args = job.spec.template.spec.containers[0]?.args ?? [];
  return args[args.indexOf(flag) + 1];
}

describe("runManifests", () => {
  it("renders an Indexed Job with completions = parallelism = shards, every shard with the same start and run id", () => {
    const { objects, manifests } = runManifests(base);
    const job = objects.shards;
    expect(job.metadata.name).toBe("lkswarm-20261123-060000-ab12");
    expect(job.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 4,
      parallelism: 4,
      backoffLimitPerIndex: 0,
    });
    expect(arg(job, "--shards")).toBe("4");
    expect(arg(job, "--start-at")).toBe("2026-11-23T06:03:00.000Z");
    expect(arg(job, "--run-id")).toBe("20261123-060000-ab12");
    expect(arg(job, "--engine")).toBe("native");
    expect(arg(job, "--scenario")).toBe("/etc/livekit-swarm/scenario.yaml");
    expect(arg(job, "-o")).toBe("/results");
    const requests = job.spec.template.spec.containers[0]?.resources.requests;
    expect(requests?.cpu).toMatch(/^\d+m$/);
    expect(requests?.memory).toMatch(/^\d+Mi$/);
    expect(manifests.map((m) => m.kind)).toEqual([
      "ConfigMap",
      "Service",
      "ServiceAccount",
      "Role",
      "RoleBinding",
      "Job",
      "Job",
    ]);
    // the PodMonitor only when asked: a cluster without the Prometheus Operator's CRD refuses it
    expect(runManifests({ ...base, podMonitor: true }).manifests.map((m) => m.kind)).toContain("PodMonitor");
    for (const m of manifests) expect(m.metadata.namespace).toBe("load");
  });

  it("serializes every object faithfully: the YAML read back as kubectl reads it equals the objects", () => {
    expect(readBack(base)).toEqual(runManifests(base).manifests);
  });

  it("takes the API key and secret from the Secret by reference, and no secret-like value lands in the output", () => {
    const { objects, manifests } = runManifests(base);
    const env = objects.shards.spec.template.spec.containers.flatMap((c) => c.env ?? []);
    const credentials = env.filter((e) => /KEY|SECRET|TOKEN|PASSWORD/.test(e.name));
    expect(credentials.map((e) => e.name).sort()).toEqual(["LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"]);
    for (const e of credentials) {
      expect(e.value, e.name).toBeUndefined();
      expect(e.valueFrom).toEqual({
        secretKeyRef: { name: "livekit-api", key: e.name === "LIVEKIT_API_KEY" ? "api-key" : "api-secret" },
      });
    }
    const text = renderYaml(manifests);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // a JWT
    expect(text).not.toMatch(/^kind: Secret$/m);
    expect(text).not.toMatch(/--api-secret|--api-key/);
  });

  it("refuses a URL that carries credentials", () => {
    expect(() => runManifests({ ...base, url: "wss://key:hunter2@lk.example.com" })).toThrow(
      /put the key and secret in the Kubernetes Secret/,
    );
    expect(() => runManifests({ ...base, url: "wss://lk.example.com/?access_token=abc" })).toThrow(K8sError);
    expect(() => runManifests({ ...base, url: "ftp://lk.example.com" })).toThrow(/ws:\/\//);
  });

  it("checks names before they land in YAML, naming the flag", () => {
    expect(() => runManifests({ ...base, namespace: "Load\nkind: Secret" })).toThrow(
      /--namespace .* is not a Kubernetes name/,
    );
    expect(() => runManifests({ ...base, secret: "Bad_Secret" })).toThrow(/--secret/);
    expect(() => runManifests({ ...base, runId: "x".repeat(60) })).toThrow(/shorten --run-id/);
    expect(() => runManifests({ ...base, runId: "a b" })).toThrow(/--run-id/);
    expect(() => runManifests({ ...base, image: "a b" })).toThrow(/--image/);
  });

  it("keeps hostile scenario text inside the ConfigMap, byte for byte", () => {
    const hostile = `${scenarioText}# \n---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"quotes' and: colons\n`;
    const docs = readBack({ ...base, scenarioText: hostile });
    expect(docs).toHaveLength(7);
    expect(docs[0]).toMatchObject({ kind: "ConfigMap", data: { "scenario.yaml": hostile } });
  });

  it("quotes what YAML 1.1 would read as a boolean or number (kubectl reads YAML 1.1)", () => {
    for (const runId of ["y", "on", "no", "1e3", "0755"]) {
      expect(readBack({ ...base, runId }), runId).toEqual(runManifests({ ...base, runId }).manifests);
    }
  });

  it("points the Service, the PodMonitor and the spread at the shard pods' labels", () => {
    const { objects } = runManifests(base);
    const pod = objects.shards.spec.template;
    expect(objects.service.spec.clusterIP).toBe("None");
    expect(pod.metadata.labels).toMatchObject(objects.service.spec.selector);
    expect(objects.podMonitor.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(objects.podMonitor.spec.selector.matchLabels).toEqual(objects.service.spec.selector);
    expect(objects.podMonitor.spec.podMetricsEndpoints[0]?.port).toBe(
      pod.spec.containers[0]?.ports?.[0]?.name,
    );
    expect(pod.spec.subdomain).toBe(objects.service.metadata.name);
  });

  it("shares no volume: every pod writes to an emptyDir of its own, and the shards serve theirs until collected", () => {
    const { objects, manifests } = runManifests(base);
    const text = renderYaml(manifests);
    expect(text).not.toMatch(/PersistentVolumeClaim|persistentVolumeClaim|ReadWriteMany|storageClassName/);
    const volumes = (job: Job) => job.spec.template.spec.volumes.filter((v) => v.name === "results");
    expect(volumes(objects.shards)).toEqual([{ name: "results", emptyDir: { sizeLimit: "1Gi" } }]);
    expect(volumes(objects.merge)).toEqual([{ name: "results", emptyDir: { sizeLimit: "2Gi" } }]);
    expect(arg(objects.shards, "--serve-results")).toBe(`${shardServingSeconds(base.scenario)}s`);
    expect(arg(objects.shards, "--metrics-host")).toBe("0.0.0.0");
    expect(arg(objects.shards, "--metrics-port")).toBe("9464");
  });

  it("runs the merge as one container that collects from the shard pods, merges and serves the verdict", () => {
    const { objects } = runManifests(base);
    const mergePod = objects.merge.spec.template.spec;
    expect(mergePod).not.toHaveProperty("initContainers");
    expect(mergePod.containers).toHaveLength(1);
    const merge = mergePod.containers[0];
    expect(merge?.args).toEqual([
      "k8s",
      "merge",
      "--job",
      objects.shards.metadata.name,
      "-o",
      "/results",
      "--max-gib",
      "1",
      "--serve-results",
      "1h",
    ]);
    expect(merge?.ports).toEqual([{ name: "results", containerPort: 9464, protocol: "TCP" }]);
    expect(merge?.env).toEqual([
      { name: "NODE_EXTRA_CA_CERTS", value: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
    ]);
    expect(merge?.resources.requests["ephemeral-storage"]).toBe("2Gi");
    expect(merge?.volumeMounts).toEqual([{ name: "results", mountPath: "/results" }]);
  });

  it("gives the merge's account get on its shard Job and list on pods, nothing more", () => {
    const { objects } = runManifests(base);
    const mergePod = objects.merge.spec.template.spec;
    expect(objects.mergeRole.rules).toEqual([
      {
        apiGroups: ["batch"],
        resources: ["jobs"],
        resourceNames: [objects.shards.metadata.name],
        verbs: ["get"],
      },
      { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
    ]);
    expect(objects.mergeRoleBinding.subjects).toEqual([
      { kind: "ServiceAccount", name: mergePod.serviceAccountName, namespace: "load" },
    ]);
    expect(objects.mergeRoleBinding.roleRef.name).toBe(objects.mergeRole.metadata.name);
    expect(objects.shards.spec.template.spec.serviceAccountName).toBeUndefined();
  });
});

describe("shardDeadlineSeconds and resultsVolumeGiB", () => {
  it("counts the wait, the whole ramp, the hold, 15 minutes of slack and the time the shards serve their results", () => {
    // 12 rooms of 5 at 10 joins/s: 6 s of ramp; 180 s wait; 120 s hold
    const serving = shardServingSeconds(base.scenario);
    expect(shardDeadlineSeconds(base.scenario, base.startAt, now)).toBe(180 + 6 + 120 + 900 + serving);
    expect(shardDeadlineSeconds(base.scenario, now, new Date(now.getTime() + 60_000))).toBe(
      6 + 120 + 900 + serving,
    );
    // 60 participants, 26 windows of 5 s at 2 KiB each, collected at 20 MiB/s after 10 minutes
    expect(serving).toBe(600 + Math.ceil((60 * 26 * 2048) / (20 * 2 ** 20)));
  });

  it("serves a big run's results longer: the whole run's bytes at 20 MiB/s", () => {
    const soak = parseScenario("rooms: 500\nsubscribers: 4\nduration: 24h\n", "soak.yaml");
    expect(shardServingSeconds(soak)).toBeGreaterThan(600 + resultsVolumeGiB(soak) * 40);
  });

  it("is at least 1 GiB and grows with participants and duration, for a shard or the whole run", () => {
    expect(resultsVolumeGiB(base.scenario)).toBe(1);
    const soak = parseScenario("rooms: 500\nsubscribers: 4\nduration: 24h\n", "soak.yaml");
    // 500 rooms of 1 + 4, joined at the default 5/s, then held a day: windows of 5 s x 2 KiB each
    const participants = 500 * 5;
    expect(resultsVolumeGiB(soak)).toBe(
      Math.ceil((participants * Math.ceil(((participants / 5) * 1000 + 86_400_000) / 5000) * 2048) / 2 ** 30),
    );
    expect(resultsVolumeGiB(soak)).toBeGreaterThan(50);
    expect(resultsVolumeGiB(soak, participants / 10)).toBe(
      Math.ceil(
        ((participants / 10) * Math.ceil(((participants / 5) * 1000 + 86_400_000) / 5000) * 2048) / 2 ** 30,
      ),
    );
  });
});
