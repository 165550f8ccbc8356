import type { DeploymentFault, KubernetesTarget } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FaultError } from "../backend.js";
import type { CommandStep } from "./commands.js";
import {
  KubernetesInjector,
  kubernetesFaultCommands,
  networkChaosManifest,
  parseLabelSelector,
  podsFromJson,
  type NetworkChaosManifest,
} from "./kubernetes.js";
import { accepts, argv, expectFaultError, fault, recorder, type Respond } from "../../test/steps-fixture.js";

const target: KubernetesTarget = {
  backend: "kubernetes",
  url: "wss://livekit.example.com",
  apiKey: "key",
  apiSecret: "secret",
  namespace: "livekit",
  context: "staging",
  nodeSelector: "app.kubernetes.io/name=livekit-server",
  redisSelector: "app.kubernetes.io/name=redis",
  redisPort: 6379,
};
const base = ["kubectl", "--context", "staging", "-n", "livekit"];
const UID = "0b6c1f1e-9d4a-4a55-8c1e-2f4b7c9d0e11";

/** The manifest as kubectl would receive it: the inject step's stdin, parsed back. */
function applied(f: DeploymentFault, pods: readonly string[], t = target): NetworkChaosManifest {
  const c = kubernetesFaultCommands(t, f, pods);
  expect(argv(c.inject)).toEqual([
    [...(t === target ? base : ["kubectl", "-n", t.namespace]), "apply", "-f", "-"],
  ]);
  const stdin = c.inject[0]?.stdin;
  if (stdin === undefined) throw new Error("no manifest on stdin");
  return parse(stdin) as NetworkChaosManifest;
}

describe("kubernetesFaultCommands: pods", () => {
  it("node.kill: force-delete, confirmed by the old uid gone, reverted by waiting for Ready", () => {
    const c = kubernetesFaultCommands(
      target,
      fault("node.kill"),
      ["livekit-0"],
      new Map([["livekit-0", UID]]),
    );
    expect(argv(c.inject)).toEqual([
      [...base, "delete", "pod", "livekit-0", "--grace-period=0", "--force", "--wait=false"],
    ]);
    expect(argv(c.confirm)).toEqual([
      [
        ...base,
        "get",
        "pod",
        "livekit-0",
        "--ignore-not-found",
        "-o",
        'jsonpath={.metadata.uid}{" "}{.metadata.deletionTimestamp}',
      ],
    ]);
    const confirm = c.confirm[0];
    expect(accepts(confirm, "")).toBe(true); // gone
    expect(accepts(confirm, "5d1e0c1a-0000-4000-8000-000000000000 ")).toBe(true); // StatefulSet's new pod
    expect(accepts(confirm, `${UID} 2025-01-01T00:00:00Z`)).toBe(true); // terminating
    expect(accepts(confirm, `${UID} `)).toBe(false); // still there
    expect(accepts(confirm, UID)).toBe(false);
    expect(argv(c.revert)).toEqual([
      [...base, "wait", "--for=condition=Ready", "pod", "-l", target.nodeSelector, "--timeout=120s"],
    ]);
    const wait: CommandStep | undefined = c.revert[0];
    expect(wait?.timeoutMs).toBeGreaterThan(120_000);
  });

  it("without a uid (a dry run) only gone or terminating confirm", () => {
    const c = kubernetesFaultCommands(target, fault("node.kill"), ["livekit-0"]);
    expect(accepts(c.confirm[0], "")).toBe(true);
    expect(accepts(c.confirm[0], `${UID} 2025-01-01T00:00:00Z`)).toBe(true);
    expect(accepts(c.confirm[0], `${UID} `)).toBe(false);
  });

  it("node.drain honours the pod's grace period unless told; node.restart defaults to 10 s", () => {
    const drain = kubernetesFaultCommands(target, fault("node.drain"), ["livekit-1"]);
    expect(argv(drain.inject)).toEqual([[...base, "delete", "pod", "livekit-1", "--wait=false"]]);
    const bounded = kubernetesFaultCommands(target, fault("node.drain", { graceMs: 90_000 }), ["livekit-1"]);
    expect(argv(bounded.inject)[0]).toContain("--grace-period=90");
    const restart = kubernetesFaultCommands(target, fault("node.restart"), ["livekit-0", "livekit-1"]);
    expect(argv(restart.inject)).toEqual([
      [...base, "delete", "pod", "livekit-0", "livekit-1", "--grace-period=10", "--wait=false"],
    ]);
    expect(restart.confirm).toHaveLength(2);
  });

  it("leaves --context out when the target uses the current context", () => {
    const c = kubernetesFaultCommands({ ...target, context: null }, fault("node.kill"), ["livekit-0"]);
    expect(argv(c.inject)[0]?.slice(0, 3)).toEqual(["kubectl", "-n", "livekit"]);
  });

  it("node.freeze and node.thaw are not available, and say why", () => {
    expectFaultError(
      () => kubernetesFaultCommands(target, fault("node.freeze"), ["livekit-0"]),
      "PID 1",
      "node.kill",
    );
    expectFaultError(
      () => kubernetesFaultCommands(target, fault("node.thaw"), ["livekit-0"]),
      "not available",
    );
  });

  it("redis.kill deletes the Redis pods by name, or by selector when none were resolved", () => {
    const named = kubernetesFaultCommands(
      target,
      fault("redis.kill"),
      ["redis-0"],
      new Map([["redis-0", UID]]),
    );
    expect(argv(named.inject)).toEqual([
      [...base, "delete", "pod", "redis-0", "--grace-period=0", "--force", "--wait=false"],
    ]);
    expect(argv(named.revert)[0]).toContain(target.redisSelector);
    const bySelector = kubernetesFaultCommands(target, fault("redis.kill"), []);
    expect(argv(bySelector.inject)).toEqual([
      [
        ...base,
        "delete",
        "pod",
        "-l",
        "app.kubernetes.io/name=redis",
        "--grace-period=0",
        "--force",
        "--wait=false",
      ],
    ]);
    expectFaultError(
      () => kubernetesFaultCommands({ ...target, redisSelector: null }, fault("redis.restart"), []),
      "target.redisSelector",
    );
  });
});

describe("kubernetesFaultCommands: Chaos Mesh", () => {
  it("net.loss: a NetworkChaos on the named pods, egress, loss in percent", () => {
    const m = applied(fault("net.loss", { ratio: 0.07 }, { id: "Loss.Burst_2" }), ["livekit-0", "livekit-2"]);
    expect(m.apiVersion).toBe("chaos-mesh.org/v1alpha1");
    expect(m.kind).toBe("NetworkChaos");
    expect(m.metadata).toEqual({
      name: "lkswarm-loss-burst-2",
      namespace: "livekit",
      labels: { "app.kubernetes.io/managed-by": "livekit-swarm" },
      annotations: { "livekit-swarm/fault": "Loss.Burst_2" },
    });
    expect(m.spec).toEqual({
      action: "loss",
      mode: "all",
      selector: { pods: { livekit: ["livekit-0", "livekit-2"] } },
      duration: "30s",
      direction: "to",
      loss: { loss: "7", correlation: "0" },
    });
  });

  it("net.bandwidth: rate in kbit (bits; Chaos Mesh's kbps would be bytes), a bucket and a queue", () => {
    const m = applied(fault("net.bandwidth", { rateKbit: 500 }, { duration: null }), ["livekit-1"]);
    expect(m.spec.action).toBe("bandwidth");
    // 500 kbit/s = 62500 B/s: a 4096 B bucket (the floor) and 200 ms of queue on top
    expect(m.spec.bandwidth).toEqual({ rate: "500kbit", buffer: 4096, limit: 4096 + 12_500 });
    expect(m.spec.duration).toBeUndefined();
    const fast = applied(fault("net.bandwidth", { rateKbit: 20_000 }), ["livekit-1"]);
    expect(fast.spec.bandwidth).toEqual({ rate: "20000kbit", buffer: 25_000, limit: 25_000 + 500_000 });
  });

  it("net.delay: latency and jitter as durations", () => {
    const m = applied(fault("net.delay", { delayMs: 150, jitterMs: 20 }, { duration: 90_500 }), [
      "livekit-0",
    ]);
    expect(m.spec).toMatchObject({
      action: "delay",
      direction: "to",
      delay: { latency: "150ms", jitter: "20ms", correlation: "0" },
      duration: "90500ms",
    });
  });

  it("net.partition: all traffic by default, both ways, no target", () => {
    const m = applied(fault("net.partition"), ["livekit-0"]);
    expect(m.spec).toEqual({
      action: "partition",
      mode: "all",
      selector: { pods: { livekit: ["livekit-0"] } },
      duration: "30s",
      direction: "both",
    });
    expect(applied(fault("net.partition", { direction: "ingress" }), ["livekit-0"]).spec.direction).toBe(
      "from",
    );
    expect(applied(fault("net.partition", { direction: "egress" }), ["livekit-0"]).spec.direction).toBe("to");
  });

  it("net.partition from redis targets the Redis pods by their selector", () => {
    const m = applied(fault("net.partition", { from: "redis", direction: "egress" }), ["livekit-0"]);
    expect(m.spec.direction).toBe("to");
    expect(m.spec.target).toEqual({
      mode: "all",
      selector: { namespaces: ["livekit"], labelSelectors: { "app.kubernetes.io/name": "redis" } },
    });
    const setBased = applied(fault("net.partition", { from: "redis" }), ["livekit-0"], {
      ...target,
      context: null,
      redisSelector: "app in (redis, valkey),tier!=cache,!canary",
    });
    expect(setBased.spec.target?.selector).toEqual({
      namespaces: ["livekit"],
      expressionSelectors: [
        { key: "app", operator: "In", values: ["redis", "valkey"] },
        { key: "tier", operator: "NotIn", values: ["cache"] },
        { key: "canary", operator: "DoesNotExist" },
      ],
    });
    expectFaultError(
      () =>
        networkChaosManifest({ ...target, redisSelector: null }, fault("net.partition", { from: "redis" }), [
          "x",
        ]),
      "target.redisSelector",
    );
    expectFaultError(
      () =>
        networkChaosManifest(
          { ...target, redisSelector: "replicas>2" },
          fault("net.partition", { from: "redis" }),
          ["x"],
        ),
      "replicas>2",
    );
  });

  it("refuses what Chaos Mesh refuses, and missing parameters", () => {
    expectFaultError(
      () =>
        kubernetesFaultCommands(target, fault("net.loss", { ratio: 0.1, direction: "both" }), ["livekit-0"]),
      "direction: egress",
    );
    expectFaultError(
      () => kubernetesFaultCommands(target, fault("net.delay"), ["livekit-0"]),
      "params.delay",
    );
    expectFaultError(
      () => kubernetesFaultCommands(target, fault("net.loss", { ratio: 0.1 }), []),
      "no node selected",
    );
  });

  it("confirms on AllInjected with one Injected record per pod, reverts by deleting the object", () => {
    const c = kubernetesFaultCommands(target, fault("net.loss", { ratio: 0.1 }), ["livekit-0"]);
    expect(argv(c.confirm)).toEqual([
      [
        ...base,
        "get",
        "networkchaos",
        "lkswarm-net-loss-1",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="AllInjected")].status}{" "}{.status.experiment.containerRecords[*].phase}',
      ],
    ]);
    expect(accepts(c.confirm[0], "True Injected")).toBe(true);
    expect(accepts(c.confirm[0], "True Injected Injected")).toBe(true);
    expect(accepts(c.confirm[0], "True Injected Not Injected")).toBe(false);
    expect(accepts(c.confirm[0], "False Not Injected")).toBe(false);
    expect(accepts(c.confirm[0], "True ")).toBe(false); // vacuously true: no pod selected
    expect(accepts(c.confirm[0], "")).toBe(false);
    expect(argv(c.revert)).toEqual([
      [...base, "delete", "networkchaos", "lkswarm-net-loss-1", "--ignore-not-found", "--timeout=60s"],
    ]);
  });
});

describe("parseLabelSelector", () => {
  it("parses equality and set-based terms", () => {
    expect(parseLabelSelector("app=livekit,tier==media")).toEqual({
      labelSelectors: { app: "livekit", tier: "media" },
    });
    expect(parseLabelSelector("app, !legacy, zone notin (a,b)")).toEqual({
      expressionSelectors: [
        { key: "app", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist" },
        { key: "zone", operator: "NotIn", values: ["a", "b"] },
      ],
    });
  });

  it("refuses what it cannot express", () => {
    expect(parseLabelSelector("")).toBeUndefined();
    expect(parseLabelSelector("a>1")).toBeUndefined();
    expect(parseLabelSelector("app in (a")).toBeUndefined();
    expect(parseLabelSelector("app=a,,b=c")).toBeUndefined();
  });
});

interface Pod {
  name: string;
  uid: string;
  phase?: string;
  deleting?: boolean;
}

const podList = (pods: readonly Pod[]): string =>
  JSON.stringify({
    kind: "List",
    items: pods.map((p) => ({
      metadata: {
        name: p.name,
        uid: p.uid,
        ...(p.deleting === true ? { deletionTimestamp: "2025-01-01T00:00:00Z" } : {}),
      },
      status: { phase: p.phase ?? "Running" },
    })),
  });

const fast = { pollMs: 10, revertWithinMs: 300 };
const sh = base.join(" ");

describe("KubernetesInjector", () => {
  const livekitPods: Pod[] = [
    { name: "livekit-b", uid: "uid-b" },
    { name: "livekit-a", uid: "uid-a" },
    { name: "livekit-old", uid: "uid-old", deleting: true },
    { name: "livekit-done", uid: "uid-done", phase: "Succeeded" },
  ];
  const answers: Respond = (a) => {
    if (a.includes("get") && a.includes(target.nodeSelector)) return { stdout: podList(livekitPods) };
    if (a.includes("get") && a.includes(target.redisSelector ?? "")) {
      return { stdout: podList([{ name: "redis-0", uid: "uid-r" }]) };
    }
    if (a.includes("logs"))
      return {
        stdout: `{"msg":"starting LiveKit server","nodeID":"ND_${a[a.indexOf("logs") + 1] ?? ""}"}\n`,
      };
    if (a.includes("redis-cli")) return { stdout: "ND_livekit-b\n" };
    return {};
  };

  it("lists the live livekit pods by name, with node ids from their logs", async () => {
    const { run, lines } = recorder(answers);
    const injector = new KubernetesInjector(target, run, fast);
    expect(await injector.nodes()).toEqual([
      { name: "livekit-a", index: 0, nodeId: "ND_livekit-a" },
      { name: "livekit-b", index: 1, nodeId: "ND_livekit-b" },
    ]);
    expect(lines()).toContain(`${sh} get pods -l ${target.nodeSelector} -o json`);
    expect(lines()).toContain(`${sh} logs livekit-a --limit-bytes=1048576`);
  });

  it("finds a room's node through redis-cli in the Redis pod", async () => {
    const { run, lines } = recorder(answers);
    const injector = new KubernetesInjector(target, run, fast);
    expect(await injector.roomNode("room-0")).toEqual({
      name: "livekit-b",
      index: 1,
      nodeId: "ND_livekit-b",
    });
    expect(lines()).toContain(`${sh} exec redis-0 -- redis-cli -p 6379 HGET room_node_map room-0`);
    // a host-network Redis on another port (the cluster testbed's): the drill names it
    await new KubernetesInjector({ ...target, redisPort: 26379 }, run, fast).roomNode("room-0");
    expect(lines()).toContain(`${sh} exec redis-0 -- redis-cli -p 26379 HGET room_node_map room-0`);
    expect(
      await new KubernetesInjector({ ...target, redisSelector: null }, run, fast).roomNode("r"),
    ).toBeUndefined();
  });

  it("asks once, before the drill, whether Chaos Mesh serves NetworkChaos; network faults without it fail in one line naming it", async () => {
    const pods = [fault("node.kill"), fault("redis.kill")];
    const none = recorder(() => ({}));
    await new KubernetesInjector(target, none.run, fast).preflight(pods);
    expect(none.lines(), "no network fault: nothing to ask").toEqual([]);

    const net = [fault("node.kill"), fault("net.loss", { ratio: 0.1 }, { id: "loss" })];
    const installed = recorder(() => ({ stdout: "iochaos.chaos-mesh.org\nnetworkchaos.chaos-mesh.org\n" }));
    await new KubernetesInjector(target, installed.run, fast).preflight(net);
    expect(installed.lines()).toEqual([`${sh} api-resources --api-group=chaos-mesh.org -o name`]);

    const missing = recorder(() => ({ stdout: "" }));
    const refused = new KubernetesInjector(target, missing.run, fast).preflight(net);
    await expect(refused).rejects.toThrow(
      "loss (net.loss): network faults on Kubernetes need Chaos Mesh, and this cluster has no NetworkChaos",
    );
    await expect(refused).rejects.toThrow(
      /install Chaos Mesh \(https:\/\/chaos-mesh\.org\/docs\/quick-start\/\)/,
    );
    const broken = recorder(() => ({ code: 1, stderr: 'error: context "staging" does not exist\nmore' }));
    await expect(new KubernetesInjector(target, broken.run, fast).preflight(net)).rejects.toThrow(
      /could not ask the cluster whether Chaos Mesh is installed: .* exited 1: error: context "staging" does not exist$/,
    );
  });

  it("fails to list nodes with a message that says what to check", async () => {
    const { run } = recorder(() => ({ code: 1, stderr: 'error: context "staging" does not exist' }));
    await expect(new KubernetesInjector(target, run, fast).nodes()).rejects.toThrow(
      /does not exist.*target\.context/,
    );
  });

  it("reads the pod's uid, deletes it, and confirms once the uid is gone (third poll)", async () => {
    const confirmLine = `${sh} get pod livekit-a --ignore-not-found -o jsonpath={.metadata.uid}{" "}{.metadata.deletionTimestamp}`;
    const { run, lines } = recorder((a, call) =>
      a.includes("--ignore-not-found") && a.includes("livekit-a")
        ? { stdout: call < 2 ? "uid-a " : "" }
        : answers(a, call),
    );
    const injector = new KubernetesInjector(target, run, fast);
    const injected = await injector.inject(fault("node.kill"), [
      { name: "livekit-a", index: 0, nodeId: "ND_a" },
    ]);
    expect(lines().slice(0, 2)).toEqual([
      `${sh} get pods -l ${target.nodeSelector} -o json`,
      `${sh} delete pod livekit-a --grace-period=0 --force --wait=false`,
    ]);
    expect(await injected.confirm(Date.now() + 2000)).toContain("uid uid-a");
    expect(lines().filter((l) => l === confirmLine)).toHaveLength(3);
    expect(await injected.revert()).toContain("Ready");
    expect(await injected.revert()).toMatch(/^already reverted/);
  });

  it("rejects a confirmation that never comes, naming the step and its last output", async () => {
    const { run } = recorder((a, call) =>
      a.includes("networkchaos") && a.includes("get") ? { stdout: "False Not Injected" } : answers(a, call),
    );
    const injected = await new KubernetesInjector(target, run, fast).inject(
      fault("net.delay", { delayMs: 80 }),
      [{ name: "livekit-a", index: 0, nodeId: undefined }],
    );
    const started = Date.now();
    const message = await injected.confirm(started + 300).then(
      () => "",
      (err: unknown) => (err as Error).message,
    );
    expect(message).toContain("net.delay-1");
    expect(message).toContain("AllInjected");
    expect(message).toContain("get networkchaos lkswarm-net-delay-1");
    expect(message).toContain("False Not Injected");
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("refuses to kill a pod that is no longer there", async () => {
    const { run } = recorder(answers);
    const error = await new KubernetesInjector(target, run, fast)
      .inject(fault("node.kill"), [{ name: "livekit-gone", index: 0, nodeId: undefined }])
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(FaultError);
    expect((error as FaultError).message).toContain("livekit-gone");
  });

  it("resolves the Redis pods before killing them, and names them as subjects", async () => {
    const { run, lines } = recorder(answers);
    const injected = await new KubernetesInjector(target, run, fast).inject(fault("redis.kill"), []);
    expect(injected.subjects).toEqual([{ kind: "redis", name: "redis-0" }]);
    expect(lines()).toContain(`${sh} delete pod redis-0 --grace-period=0 --force --wait=false`);
    const none = recorder((a) => (a.includes("get") ? { stdout: podList([]) } : {}));
    await expect(
      new KubernetesInjector(target, none.run, fast).inject(fault("redis.kill"), []),
    ).rejects.toThrow(/no running pod matches/);
  });

  it("describes a network fault as kubectl apply with the manifest as a here-document", () => {
    const lines = new KubernetesInjector(target, recorder(answers).run, fast).describe(
      fault("net.loss", { ratio: 0.05 }),
      [{ name: "livekit-a", index: 0, nodeId: undefined }],
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^kubectl --context staging -n livekit apply -f - <<'EOF'\napiVersion: chaos-mesh\.org/,
    );
    expect(lines[0]).toContain('loss: "5"');
  });
});

describe("podsFromJson", () => {
  it("keeps name, uid, phase and whether the pod is terminating, sorted by name", () => {
    expect(
      podsFromJson(
        podList([
          { name: "b", uid: "2" },
          { name: "a", uid: "1", deleting: true },
        ]),
      ),
    ).toEqual([
      { name: "a", uid: "1", terminating: true, phase: "Running" },
      { name: "b", uid: "2", terminating: false, phase: "Running" },
    ]);
    expect(podsFromJson("{}")).toEqual([]);
  });
});
