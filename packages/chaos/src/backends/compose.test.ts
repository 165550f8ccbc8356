import type { ComposeTarget } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { FaultError, type ShellStep } from "../backend.js";
import {
  execStep,
  faultResourceName,
  formatStep,
  goDuration,
  nodeIdFromLog,
  type CommandStep,
} from "./commands.js";
import { ComposeInjector, PUMBA_IMAGE, TC_IMAGE, composeFaultCommands } from "./compose.js";
import { accepts, argv, expectFaultError, fault, recorder, type Respond } from "../../test/steps-fixture.js";

const target: ComposeTarget = {
  backend: "compose",
  url: "ws://localhost:7880",
  apiKey: "key",
  apiSecret: "secret",
  project: "lkswarm",
  file: "deploy/compose.yml",
  nodes: ["livekit-1", "livekit-2"],
  redis: "redis",
  network: "lkswarm_default",
};
const base = ["docker", "compose", "-p", "lkswarm", "-f", "deploy/compose.yml"];

const ps = (state: string, status = "Up 3 minutes"): string =>
  `{"Command":"\\"/livekit-server\\"","ID":"ab12","Name":"lkswarm-livekit-1-1","Service":"livekit-1","State":"${state}","Status":"${status}","ExitCode":0}\n`;

describe("composeFaultCommands", () => {
  it("node.kill: SIGKILL, confirmed by the exited state, reverted by start", () => {
    const c = composeFaultCommands(target, fault("node.kill"), ["livekit-1", "livekit-2"]);
    expect(argv(c.inject)).toEqual([[...base, "kill", "-s", "SIGKILL", "livekit-1", "livekit-2"]]);
    expect(argv(c.confirm)).toEqual([
      [...base, "ps", "--all", "--format", "json", "livekit-1"],
      [...base, "ps", "--all", "--format", "json", "livekit-2"],
    ]);
    expect(accepts(c.confirm[0], ps("exited", "Exited (137) 1 second ago"))).toBe(true);
    expect(accepts(c.confirm[0], ps("running"))).toBe(false);
    // compose before 2.21 printed one JSON array
    expect(accepts(c.confirm[0], `[${ps("exited").trim()}]`)).toBe(true);
    expect(argv(c.revert)).toEqual([
      [...base, "start", "livekit-1", "livekit-2"],
      [...base, "ps", "--all", "--format", "json", "livekit-1"],
      [...base, "ps", "--all", "--format", "json", "livekit-2"],
    ]);
    expect(accepts(c.revert[1], ps("running"))).toBe(true);
    expect(accepts(c.revert[1], ps("exited"))).toBe(false);
  });

  it("leaves -p and -f out when the target does not set them", () => {
    const c = composeFaultCommands({ ...target, project: null, file: null }, fault("node.kill"), [
      "livekit-1",
    ]);
    expect(argv(c.inject)).toEqual([["docker", "compose", "kill", "-s", "SIGKILL", "livekit-1"]]);
  });

  it("node.freeze: pause, confirmed paused, reverted by unpause (already running is fine)", () => {
    const c = composeFaultCommands(target, fault("node.freeze"), ["livekit-2"]);
    expect(argv(c.inject)).toEqual([[...base, "pause", "livekit-2"]]);
    expect(accepts(c.confirm[0], ps("paused"))).toBe(true);
    expect(accepts(c.confirm[0], ps("running"))).toBe(false);
    expect(argv(c.revert)[0]).toEqual([...base, "unpause", "livekit-2"]);
    const unpause: CommandStep | undefined = c.revert[0];
    expect(new RegExp(unpause?.alreadyDone ?? "^$").test("Container abc is not paused")).toBe(true);
    expect(accepts(c.revert[1], ps("running"))).toBe(true);
  });

  it("node.thaw: unpause, confirmed running, nothing to revert", () => {
    const c = composeFaultCommands(target, fault("node.thaw", {}, { duration: null }), ["livekit-1"]);
    expect(argv(c.inject)).toEqual([[...base, "unpause", "livekit-1"]]);
    expect(accepts(c.confirm[0], ps("running"))).toBe(true);
    expect(c.revert).toEqual([]);
  });

  it("node.drain: SIGTERM, confirmed by LiveKit's shutdown line, reverted by SIGKILL and start", () => {
    const c = composeFaultCommands(target, fault("node.drain"), ["livekit-1"]);
    expect(argv(c.inject)).toEqual([[...base, "kill", "-s", "SIGTERM", "livekit-1"]]);
    // confirmWithin 10 s + 5 s: older log lines cannot confirm this drain
    expect(argv(c.confirm)).toEqual([[...base, "logs", "--no-color", "--since", "15s", "livekit-1"]]);
    expect(
      accepts(
        c.confirm[0],
        'livekit-1-1  | 2025-01-01T00:00:00Z INFO livekit exit requested, shutting down {"signal": "terminated"}',
      ),
    ).toBe(true);
    expect(accepts(c.confirm[0], "livekit-1-1  | starting LiveKit server")).toBe(false);
    expect(argv(c.revert).slice(0, 2)).toEqual([
      [...base, "kill", "-s", "SIGKILL", "livekit-1"],
      [...base, "start", "livekit-1"],
    ]);
  });

  it("node.restart: restart with the grace in seconds, confirmed by a fresh start", () => {
    const c = composeFaultCommands(target, fault("node.restart", { graceMs: 4500 }), ["livekit-1"]);
    expect(argv(c.inject)).toEqual([[...base, "restart", "-t", "5", "livekit-1"]]);
    expect(accepts(c.confirm[0], ps("running", "Up Less than a second"))).toBe(true);
    expect(accepts(c.confirm[0], ps("running", "Up 12 seconds (healthy)"))).toBe(true);
    expect(accepts(c.confirm[0], ps("running", "Up 3 minutes"))).toBe(false);
    expect(accepts(c.confirm[0], ps("restarting", "Restarting (1) 2 seconds ago"))).toBe(false);
    const defaults = composeFaultCommands(target, fault("node.restart"), ["livekit-1"]);
    expect(argv(defaults.inject)[0]).toContain("10");
  });

  it("redis.kill and redis.restart hit target.redis, whatever the nodes", () => {
    const kill = composeFaultCommands(target, fault("redis.kill"), []);
    expect(argv(kill.inject)).toEqual([[...base, "kill", "-s", "SIGKILL", "redis"]]);
    expect(argv(kill.revert)[0]).toEqual([...base, "start", "redis"]);
    const restart = composeFaultCommands(target, fault("redis.restart"), []);
    expect(argv(restart.inject)).toEqual([[...base, "restart", "-t", "10", "redis"]]);
    expectFaultError(
      () => composeFaultCommands({ ...target, redis: null }, fault("redis.kill"), []),
      "target.redis",
    );
  });

  it("net.partition: network disconnect by container name, reconnected with the service alias", () => {
    const c = composeFaultCommands(target, fault("net.partition"), ["livekit-1", "livekit-2"]);
    expect(argv(c.inject)).toEqual([
      ["docker", "network", "disconnect", "lkswarm_default", "lkswarm-livekit-1-1"],
      ["docker", "network", "disconnect", "lkswarm_default", "lkswarm-livekit-2-1"],
    ]);
    expect(argv(c.confirm)[0]).toEqual([
      "docker",
      "inspect",
      "-f",
      '{{if index .NetworkSettings.Networks "lkswarm_default"}}attached{{else}}detached{{end}}',
      "lkswarm-livekit-1-1",
    ]);
    expect(accepts(c.confirm[0], "detached\n")).toBe(true);
    expect(accepts(c.confirm[0], "attached\n")).toBe(false);
    expect(argv(c.revert)[0]).toEqual([
      "docker",
      "network",
      "connect",
      "--alias",
      "livekit-1",
      "lkswarm_default",
      "lkswarm-livekit-1-1",
    ]);
    expect(accepts(c.revert[1], "attached\n")).toBe(true);
  });

  it("net.partition needs a project and a network, cuts both ways, and only from everything", () => {
    expectFaultError(
      () => composeFaultCommands({ ...target, project: null }, fault("net.partition"), ["livekit-1"]),
      "net.partition-1",
      "target.project",
    );
    expectFaultError(
      () => composeFaultCommands({ ...target, network: null }, fault("net.partition"), ["livekit-1"]),
      "target.network",
    );
    expectFaultError(
      () => composeFaultCommands(target, fault("net.partition", { from: "redis" }), ["livekit-1"]),
      "from: redis",
    );
    expectFaultError(
      () => composeFaultCommands(target, fault("net.partition", { direction: "egress" }), ["livekit-1"]),
      "direction: both",
    );
  });

  it("net.loss: Pumba netem loss in a named container, confirmed by the qdisc, reverted by stopping Pumba", () => {
    const f = fault("net.loss", { ratio: 0.07 }, { id: "Loss_Burst" });
    const c = composeFaultCommands(target, f, ["livekit-1"]);
    expect(faultResourceName("Loss_Burst")).toBe("lkswarm-loss-burst");
    expect(argv(c.inject)).toEqual([
      [
        "docker",
        "run",
        "-d",
        "--name",
        "lkswarm-loss-burst",
        "-v",
        "/var/run/docker.sock:/var/run/docker.sock",
        PUMBA_IMAGE,
        "--log-level",
        "info",
        "netem",
        "--duration",
        "30s",
        "--tc-image",
        TC_IMAGE,
        "loss",
        "--percent",
        "7",
        "lkswarm-livekit-1-1",
      ],
    ]);
    expect(argv(c.confirm)).toEqual([
      ["docker", "inspect", "-f", "{{.State.Running}}", "lkswarm-loss-burst"],
      [
        "docker",
        "run",
        "--rm",
        "--network",
        "container:lkswarm-livekit-1-1",
        "--entrypoint",
        "tc",
        TC_IMAGE,
        "qdisc",
        "show",
        "dev",
        "eth0",
      ],
    ]);
    expect(accepts(c.confirm[0], "true\n")).toBe(true);
    expect(accepts(c.confirm[0], "false\n")).toBe(false);
    expect(accepts(c.confirm[1], "qdisc netem 8001: root refcnt 2 limit 1000 loss 7%\n")).toBe(true);
    expect(accepts(c.confirm[1], "qdisc noqueue 0: root refcnt 2\n")).toBe(false);
    expect(argv(c.revert)).toEqual([
      ["docker", "stop", "-t", "30", "lkswarm-loss-burst"],
      ["docker", "rm", "lkswarm-loss-burst"],
      argv(c.confirm)[1],
    ]);
    expect(accepts(c.revert[2], "qdisc noqueue 0: root refcnt 2\n")).toBe(true);
    expect(accepts(c.revert[2], "qdisc netem 8001: root refcnt 2 limit 1000 loss 7%\n")).toBe(false);
  });

  it("net.bandwidth and net.delay: netem rate and delay; an open-ended fault runs Pumba for an hour", () => {
    const rate = composeFaultCommands(target, fault("net.bandwidth", { rateKbit: 500 }), ["livekit-2"]);
    const pumbaArgs = (steps: readonly ShellStep[]): string[] => argv(steps)[0]?.slice(11) ?? [];
    expect(pumbaArgs(rate.inject)).toEqual([
      "--duration",
      "30s",
      "--tc-image",
      TC_IMAGE,
      "rate",
      "--rate",
      "500kbit",
      "lkswarm-livekit-2-1",
    ]);
    expect(accepts(rate.confirm[1], "qdisc netem 8002: root refcnt 2 limit 1000 rate 500Kbit\n")).toBe(true);
    const delay = composeFaultCommands(
      target,
      fault("net.delay", { delayMs: 120, jitterMs: 15 }, { duration: null }),
      ["livekit-1", "livekit-2"],
    );
    expect(pumbaArgs(delay.inject)).toEqual([
      "--duration",
      "3600s",
      "--tc-image",
      TC_IMAGE,
      "delay",
      "--time",
      "120",
      "--jitter",
      "15",
      "--correlation",
      "0",
      "lkswarm-livekit-1-1",
      "lkswarm-livekit-2-1",
    ]);
    expect(delay.confirm).toHaveLength(3);
    expect(accepts(delay.confirm[2], "qdisc netem 8003: root refcnt 2 limit 1000 delay 120ms  15ms\n")).toBe(
      true,
    );
  });

  it("net.* faults refuse what Pumba cannot do, and missing parameters", () => {
    expectFaultError(
      () =>
        composeFaultCommands(target, fault("net.loss", { ratio: 0.1, direction: "ingress" }), ["livekit-1"]),
      "direction: egress",
    );
    expectFaultError(() => composeFaultCommands(target, fault("net.loss"), ["livekit-1"]), "params.ratio");
    expectFaultError(
      () => composeFaultCommands(target, fault("net.bandwidth"), ["livekit-1"]),
      "params.rate",
    );
    expectFaultError(() => composeFaultCommands(target, fault("net.delay"), ["livekit-1"]), "params.delay");
    expectFaultError(
      () =>
        composeFaultCommands({ ...target, project: null }, fault("net.delay", { delayMs: 50 }), [
          "livekit-1",
        ]),
      "target.project",
    );
    expectFaultError(() => composeFaultCommands(target, fault("node.kill"), []), "no node selected");
  });
});

describe("helpers", () => {
  it("formats steps for a shell, quoting what needs it", () => {
    expect(
      formatStep({ argv: ["docker", "inspect", "-f", "{{.State.Running}}", "it's here", ""], why: "x" }),
    ).toBe(`docker inspect -f '{{.State.Running}}' 'it'\\''s here' ''`);
    expect(formatStep({ argv: ["kubectl", "apply", "-f", "-"], stdin: "kind: X\n", why: "x" })).toBe(
      "kubectl apply -f - <<'EOF'\nkind: X\nEOF",
    );
  });

  it("names resources as DNS labels", () => {
    expect(faultResourceName("net.loss-1")).toBe("lkswarm-net-loss-1");
    const long = faultResourceName(`a-${"x".repeat(100)}`);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(faultResourceName(`b-${"x".repeat(100)}`));
  });

  it("writes Go durations", () => {
    expect(goDuration(30_000)).toBe("30s");
    expect(goDuration(1500)).toBe("1500ms");
  });

  it("reads LiveKit's node id from JSON and console logs, the last start winning", () => {
    const json = '{"level":"info","msg":"starting LiveKit server","nodeID":"ND_first"}';
    const console =
      'livekit-1-1  | 2025-01-01T00:00:01.000Z\tINFO\tlivekit\tservice/server.go:1\tstarting LiveKit server\t{"portHttp": 7880, "nodeID": "ND_second"}';
    expect(nodeIdFromLog(`${json}\nother line\n${console}\n`)).toBe("ND_second");
    expect(nodeIdFromLog("nothing here")).toBeUndefined();
  });

  it("execStep runs argv without a shell, passes stdin, and reports failures as codes", async () => {
    const echo = await execStep({
      argv: [process.execPath, "-e", "process.stdin.pipe(process.stdout)"],
      stdin: "$HOME; not expanded",
      why: "echo",
    });
    expect(echo).toEqual({ code: 0, stdout: "$HOME; not expanded", stderr: "" });
    const failed = await execStep({
      argv: [process.execPath, "-e", "console.error('nope'); process.exit(3)"],
      why: "x",
    });
    expect(failed.code).toBe(3);
    expect(failed.stderr.trim()).toBe("nope");
    const missing = await execStep({ argv: ["lkswarm-no-such-binary"], why: "x" });
    expect(missing).toMatchObject({ code: 127, stderr: "lkswarm-no-such-binary: not found on PATH" });
  });

  it("execStep kills a step that outlives its timeout", async () => {
    const step: CommandStep = {
      argv: [process.execPath, "-e", "setTimeout(() => {}, 5000)"],
      why: "x",
      timeoutMs: 200,
    };
    const result = await execStep(step);
    expect(result.code).toBe(124);
    expect(result.stderr).toContain("killed after 0.2 s");
  });
});

const fast = { pollMs: 10, revertWithinMs: 300 };

describe("ComposeInjector", () => {
  const logs: Record<string, string> = {
    "livekit-1": '{"msg":"starting LiveKit server","nodeID":"ND_one"}\n',
    "livekit-2": '{"msg":"starting LiveKit server","nodeID":"ND_two"}\n',
  };
  const answers: Respond = (a) => {
    if (a.includes("logs")) return { stdout: logs[a.at(-1) ?? ""] ?? "" };
    if (a.includes("redis-cli")) return { stdout: a.at(-1) === "room-0" ? "ND_two\n" : "\n" };
    return {};
  };

  it("lists the node services with their LiveKit node ids, and finds a room's node through Redis", async () => {
    const { run, lines } = recorder(answers);
    const injector = new ComposeInjector(target, run, fast);
    expect(await injector.nodes()).toEqual([
      { name: "livekit-1", index: 0, nodeId: "ND_one" },
      { name: "livekit-2", index: 1, nodeId: "ND_two" },
    ]);
    expect(await injector.roomNode("room-0")).toEqual({ name: "livekit-2", index: 1, nodeId: "ND_two" });
    expect(await injector.roomNode("room-9")).toBeUndefined();
    expect(lines()).toContain(`${base.join(" ")} exec -T redis redis-cli HGET room_node_map room-0`);
    expect(
      await new ComposeInjector({ ...target, redis: null }, run, fast).roomNode("room-0"),
    ).toBeUndefined();
  });

  it("a node whose log cannot be read has no id", async () => {
    const { run } = recorder((a) => (a.includes("logs") ? { code: 1, stderr: "no such service" } : {}));
    const nodes = await new ComposeInjector(target, run, fast).nodes();
    expect(nodes.map((n) => n.nodeId)).toEqual([undefined, undefined]);
  });

  it("injects, confirms once the container shows exited (third poll), and reverts once", async () => {
    const { run, lines } = recorder((a, call) => {
      if (a.includes("ps")) {
        const starting = lines().includes(`${base.join(" ")} start livekit-1`);
        return { stdout: starting ? ps("running") : call < 2 ? ps("running") : ps("exited") };
      }
      return {};
    });
    const injector = new ComposeInjector(target, run, fast);
    const node = { name: "livekit-1", index: 0, nodeId: "ND_one" };
    const injected = await injector.inject(fault("node.kill"), [node]);
    expect(injected.subjects).toEqual([{ kind: "node", name: "livekit-1", nodeId: "ND_one" }]);
    expect(injected.actions).toEqual([`${base.join(" ")} kill -s SIGKILL livekit-1`]);
    const evidence = await injected.confirm(Date.now() + 2000);
    expect(evidence).toContain("livekit-1 exited");
    const psLine = `${base.join(" ")} ps --all --format json livekit-1`;
    expect(lines().filter((l) => l === psLine)).toHaveLength(3);

    expect(await injected.revert()).toContain("start livekit-1");
    const after = lines().length;
    expect(await injected.revert()).toMatch(/^already reverted/);
    expect(lines()).toHaveLength(after);
  });

  it("rejects a confirmation that never comes, naming the step and its last output", async () => {
    const { run } = recorder((a) => (a.includes("ps") ? { stdout: ps("running") } : {}));
    const injected = await new ComposeInjector(target, run, fast).inject(fault("node.kill"), [
      { name: "livekit-2", index: 1, nodeId: undefined },
    ]);
    const started = Date.now();
    const error = await injected.confirm(started + 300).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("node.kill-1");
    expect(message).toContain("livekit-2 exited");
    expect(message).toContain("ps --all --format json livekit-2");
    expect(message).toContain('"State":"running"');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("fails an inject with a FaultError, and takes back the part already done", async () => {
    const { run, lines } = recorder((a) =>
      a.includes("disconnect") && a.includes("lkswarm-livekit-2-1")
        ? { code: 1, stderr: "Error response from daemon: container lkswarm-livekit-2-1 is not connected" }
        : a.includes("connect")
          ? {
              code: 1,
              stderr: "endpoint with name lkswarm-livekit-2-1 already exists in network lkswarm_default",
            }
          : a.includes("inspect")
            ? { stdout: "attached\n" }
            : {},
    );
    const nodes = target.nodes.map((name, index) => ({ name, index, nodeId: undefined }));
    const error = await new ComposeInjector(target, run, fast).inject(fault("net.partition"), nodes).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(FaultError);
    expect((error as FaultError).fault).toBe("net.partition-1");
    expect((error as FaultError).message).toContain("is not connected");
    expect((error as FaultError).message).toContain("reverted");
    expect(lines()).toContain("docker network connect --alias livekit-1 lkswarm_default lkswarm-livekit-1-1");
  });

  it("reports a failed revert, and retries it on the next call", async () => {
    let daemonUp = false;
    const { run } = recorder((a) => {
      if (a.includes("ps")) return { stdout: daemonUp ? ps("running") : ps("paused") };
      if (a.includes("unpause"))
        return daemonUp ? {} : { code: 1, stderr: "Cannot connect to the Docker daemon" };
      return {};
    });
    const injected = await new ComposeInjector(target, run, fast).inject(fault("node.freeze"), [
      { name: "livekit-1", index: 0, nodeId: undefined },
    ]);
    expect(await injected.confirm(Date.now() + 1000)).toContain("paused");
    const first = await injected.revert().then(
      () => "",
      (err: unknown) => (err as Error).message,
    );
    expect(first).toContain("revert incomplete");
    expect(first).toContain("Cannot connect to the Docker daemon");
    daemonUp = true;
    expect(await injected.revert()).toContain("unpause livekit-1");
  });

  it("describes a fault as the shell lines it would run", () => {
    const injector = new ComposeInjector(target, recorder(() => ({})).run, fast);
    expect(
      injector.describe(fault("node.freeze"), [{ name: "livekit-1", index: 0, nodeId: undefined }]),
    ).toEqual([`${base.join(" ")} pause livekit-1`]);
  });
});
