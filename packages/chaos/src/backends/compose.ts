/**
 * The docker compose backend: node and Redis faults through `docker compose` (kill, pause,
 * restart), partitions through `docker network disconnect`, loss, bandwidth and delay through
 * Pumba's netem in a container of its own. Each fault is confirmed by what Docker reports
 * (container state, network attachment, the qdisc listed in the node's namespace).
 */
import type { ComposeTarget, DeploymentFault } from "@livekit-swarm/schema";
import { FaultError, type FaultTable, type NodeRef, type StepRunner } from "../backend.js";
import type { FaultSubject } from "../journal.js";
import {
  CommandInjector,
  execStep,
  faultResourceName,
  goDuration,
  nodeIdFromLog,
  plainNumber,
  type CommandStep,
  type CommandTiming,
  type StepCommands,
} from "./commands.js";

/** Pumba, pinned: its flags and defaults have changed between releases. */
export const PUMBA_IMAGE = "gaiaadm/pumba:0.10.1";
/**
 * The image Pumba 0.10 runs `tc` from, in the node's network namespace. Without `--tc-image` it
 * execs `tc` in the target container, and LiveKit's image is not built to carry one.
 */
export const TC_IMAGE = "gaiadocker/iproute2";
/** Pumba's netem needs a duration: a fault without one gets this, and the drill's rollback ends it. */
export const OPEN_ENDED_MS = 3_600_000;
/** What `docker compose restart` waits for a node to exit before SIGKILL, unless params.graceMs says. */
const DEFAULT_GRACE_MS = 10_000;

const NO_SUCH_CONTAINER = "[Nn]o such (container|object)";

function composeBase(target: ComposeTarget): string[] {
  return [
    "docker",
    "compose",
    ...(target.project !== null ? ["-p", target.project] : []),
    ...(target.file !== null ? ["-f", target.file] : []),
  ];
}

/** Compose v2 names a service's first container `<project>-<service>-1`. */
export function composeContainer(project: string, service: string): string {
  return `${project}-${service}-1`;
}

function stateCheck(base: readonly string[], service: string, state: string, why: string): CommandStep {
  return {
    argv: [...base, "ps", "--all", "--format", "json", service],
    expect: `"State":\\s*"${state}"`,
    why,
  };
}

/** Running, and started less than a minute ago (Docker's own wording: `Up 4 seconds`). */
function restartedCheck(base: readonly string[], service: string): CommandStep {
  return {
    argv: [...base, "ps", "--all", "--format", "json", service],
    expect: `^(?=[\\s\\S]*"State":\\s*"running")(?=[\\s\\S]*"Status":\\s*"Up (Less than a second|\\d+ seconds?)\\b)`,
    why: `${service} running, started within the last minute`,
  };
}

function qdiscShow(container: string): string[] {
  return [
    "docker",
    "run",
    "--rm",
    "--network",
    `container:${container}`,
    "--entrypoint",
    "tc",
    TC_IMAGE,
    "qdisc",
    "show",
    "dev",
    "eth0",
  ];
}

function graceSeconds(fault: DeploymentFault): number {
  return Math.ceil((fault.params.graceMs ?? DEFAULT_GRACE_MS) / 1000);
}

function requireServices(fault: DeploymentFault, services: readonly string[]): readonly string[] {
  if (services.length === 0) throw new FaultError(`${fault.id} (${fault.type}): no node selected`, fault.id);
  return services;
}

function requireProject(target: ComposeTarget, fault: DeploymentFault): string {
  if (target.project === null) {
    throw new FaultError(
      `${fault.id} (${fault.type}) addresses containers by name (<project>-<service>-1), so it needs target.project: set it to the compose project name (docker compose ls)`,
      fault.id,
    );
  }
  return target.project;
}

type ContainerAction = "kill" | "freeze" | "thaw" | "drain" | "restart";

/** Kill, pause, restart: the same on a node service and on Redis. */
function containerCommands(
  base: readonly string[],
  fault: DeploymentFault,
  type: ContainerAction,
  services: readonly string[],
): StepCommands {
  const list = services.join(", ");
  const running = (why: (s: string) => string): CommandStep[] =>
    services.map((s) => stateCheck(base, s, "running", why(s)));
  switch (type) {
    case "kill":
      return {
        inject: [{ argv: [...base, "kill", "-s", "SIGKILL", ...services], why: `SIGKILL ${list}` }],
        confirm: services.map((s) => stateCheck(base, s, "exited", `${s} exited`)),
        revert: [
          { argv: [...base, "start", ...services], why: `start ${list}` },
          ...running((s) => `${s} running again`),
        ],
      };
    case "freeze":
      return {
        inject: [{ argv: [...base, "pause", ...services], why: `pause (freeze) ${list}` }],
        confirm: services.map((s) => stateCheck(base, s, "paused", `${s} paused`)),
        revert: [
          { argv: [...base, "unpause", ...services], why: `unpause ${list}`, alreadyDone: "is not paused" },
          ...running((s) => `${s} running again`),
        ],
      };
    case "thaw":
      return {
        inject: [
          { argv: [...base, "unpause", ...services], why: `unpause ${list}`, alreadyDone: "is not paused" },
        ],
        confirm: running((s) => `${s} running`),
        revert: [],
      };
    case "drain": {
      // LiveKit logs this on SIGTERM, then waits for its rooms to empty. The window reaches back
      // only as far as this confirmation can last, so an earlier drain's line does not count.
      const since = `${Math.ceil(fault.confirmWithin / 1000) + 5}s`;
      return {
        inject: [{ argv: [...base, "kill", "-s", "SIGTERM", ...services], why: `SIGTERM (drain) ${list}` }],
        confirm: services.map((s) => ({
          argv: [...base, "logs", "--no-color", "--since", since, s],
          expect: "exit requested, shutting down",
          why: `${s} logged its shutdown`,
        })),
        revert: [
          {
            argv: [...base, "kill", "-s", "SIGKILL", ...services],
            why: `SIGKILL ${list} if still draining`,
            alreadyDone: `not running|[Nn]o (running )?containers?|${NO_SUCH_CONTAINER}`,
          },
          { argv: [...base, "start", ...services], why: `start ${list}` },
          ...running((s) => `${s} running again`),
        ],
      };
    }
    case "restart": {
      const grace = graceSeconds(fault);
      return {
        inject: [
          {
            argv: [...base, "restart", "-t", String(grace), ...services],
            why: `restart ${list} (SIGTERM, SIGKILL after ${grace} s)`,
            // compose waits for the stop and the start
            timeoutMs: grace * 1000 + 30_000,
          },
        ],
        confirm: services.map((s) => restartedCheck(base, s)),
        revert: [
          { argv: [...base, "start", ...services], why: `start ${list} if it is not running` },
          ...running((s) => `${s} running`),
        ],
      };
    }
  }
}

function partitionCommands(
  target: ComposeTarget,
  fault: DeploymentFault,
  services: readonly string[],
): StepCommands {
  const project = requireProject(target, fault);
  const network = target.network;
  if (network === null) {
    throw new FaultError(
      `${fault.id} (net.partition) disconnects the node from a network: set target.network to the Docker network name (docker network ls, e.g. ${project}_default)`,
      fault.id,
    );
  }
  if (fault.params.from === "redis") {
    throw new FaultError(
      `${fault.id} (net.partition from: redis) is not available on compose: docker network disconnect cuts the node off from everything on the network. Use from: all, or the local or kubernetes backend`,
      fault.id,
    );
  }
  const direction = fault.params.direction ?? "both";
  if (direction !== "both") {
    throw new FaultError(
      `${fault.id} (net.partition direction: ${direction}) is not available on compose: docker network disconnect cuts both ways. Use direction: both`,
      fault.id,
    );
  }
  const attached = (container: string): string[] => [
    "docker",
    "inspect",
    "-f",
    `{{if index .NetworkSettings.Networks ${JSON.stringify(network)}}}attached{{else}}detached{{end}}`,
    container,
  ];
  const pairs = services.map((s) => ({ service: s, container: composeContainer(project, s) }));
  return {
    inject: pairs.map(({ container }) => ({
      argv: ["docker", "network", "disconnect", network, container],
      why: `disconnect ${container} from ${network}`,
    })),
    confirm: pairs.map(({ container }) => ({
      argv: attached(container),
      expect: "^\\s*detached\\s*$",
      why: `${container} not attached to ${network}`,
    })),
    revert: pairs.flatMap(({ service, container }) => [
      {
        // compose gave the container its service name as an alias; other services resolve it by that
        argv: ["docker", "network", "connect", "--alias", service, network, container],
        why: `reconnect ${container} to ${network}`,
        alreadyDone: "already exists",
      },
      { argv: attached(container), expect: "^\\s*attached\\s*$", why: `${container} attached to ${network}` },
    ]),
  };
}

/** What Pumba's netem is asked for: its arguments, and the word `tc qdisc show` lists the qdisc by. */
interface Netem {
  readonly args: string[];
  readonly qdiscWord: string;
}

function needParam(fault: DeploymentFault, what: string): never {
  throw new FaultError(`${fault.id} (${fault.type}) needs params.${what}`, fault.id);
}

function lossNetem(fault: DeploymentFault): Netem {
  const ratio = fault.params.ratio ?? needParam(fault, "ratio (the share of packets dropped, e.g. 5%)");
  return { args: ["loss", "--percent", plainNumber(ratio * 100)], qdiscWord: "loss" };
}

function rateNetem(fault: DeploymentFault): Netem {
  const rate = fault.params.rateKbit ?? needParam(fault, "rate (e.g. 500kbit)");
  return { args: ["rate", "--rate", `${plainNumber(rate)}kbit`], qdiscWord: "rate" };
}

function delayNetem(fault: DeploymentFault): Netem {
  const delay = fault.params.delayMs ?? needParam(fault, "delay (e.g. 100ms)");
  // Pumba's defaults are 10 ms of jitter and 20% correlation: say what the drill asked for
  return {
    args: [
      "delay",
      "--time",
      String(Math.round(delay)),
      "--jitter",
      String(Math.round(fault.params.jitterMs ?? 0)),
      "--correlation",
      "0",
    ],
    qdiscWord: "delay",
  };
}

function pumbaCommands(
  target: ComposeTarget,
  fault: DeploymentFault,
  services: readonly string[],
  netem: (fault: DeploymentFault) => Netem,
): StepCommands {
  const project = requireProject(target, fault);
  const direction = fault.params.direction ?? "egress";
  if (direction !== "egress") {
    throw new FaultError(
      `${fault.id} (${fault.type} direction: ${direction}) is not available on compose: Pumba's netem shapes only what the node sends. Use direction: egress, or the local backend`,
      fault.id,
    );
  }
  const { args, qdiscWord } = netem(fault);
  const name = faultResourceName(fault.id);
  const containers = services.map((s) => composeContainer(project, s));
  const duration = goDuration(fault.duration ?? OPEN_ENDED_MS);
  return {
    inject: [
      {
        // No --rm: a Pumba that fails at start keeps its logs for `docker logs`; revert removes it.
        argv: [
          "docker",
          "run",
          "-d",
          "--name",
          name,
          "-v",
          "/var/run/docker.sock:/var/run/docker.sock",
          PUMBA_IMAGE,
          "--log-level",
          "info",
          "netem",
          "--duration",
          duration,
          "--tc-image",
          TC_IMAGE,
          ...args,
          ...containers,
        ],
        why: `Pumba netem ${args.join(" ")} on ${containers.join(", ")} for ${duration}`,
        hint: `if the name is in use, an earlier drill left its Pumba behind: \`docker stop ${name}; docker rm ${name}\` removes it and its rule`,
      },
    ],
    confirm: [
      {
        argv: ["docker", "inspect", "-f", "{{.State.Running}}", name],
        expect: "^\\s*true\\s*$",
        why: `Pumba (${name}) running`,
        hint: `\`docker logs ${name}\` says why it stopped`,
      },
      ...containers.map((c) => ({
        argv: qdiscShow(c),
        expect: `qdisc netem[^\\n]*\\b${qdiscWord}\\b`,
        why: `netem ${qdiscWord} qdisc on ${c}'s eth0`,
      })),
    ],
    revert: [
      {
        // SIGTERM: Pumba deletes the qdisc it added before it exits (SIGKILL, as rm -f sends, would not)
        argv: ["docker", "stop", "-t", "30", name],
        why: `stop Pumba (${name}), which removes its qdisc`,
        alreadyDone: NO_SUCH_CONTAINER,
        timeoutMs: 45_000,
      },
      { argv: ["docker", "rm", name], why: `remove ${name}`, alreadyDone: NO_SUCH_CONTAINER },
      ...containers.map((c) => ({
        argv: qdiscShow(c),
        expect: "^(?![\\s\\S]*qdisc netem)",
        why: `no netem qdisc left on ${c}'s eth0`,
        // a node that is not running has no namespace, and no qdisc
        alreadyDone: `${NO_SUCH_CONTAINER}|non running container|is not running`,
      })),
    ],
  };
}

type ComposeCommands = (
  target: ComposeTarget,
  fault: DeploymentFault,
  services: readonly string[],
) => StepCommands;

function onNodes(action: ContainerAction): ComposeCommands {
  return (target, fault, services) =>
    containerCommands(composeBase(target), fault, action, requireServices(fault, services));
}

function onRedis(action: ContainerAction): ComposeCommands {
  return (target, fault) => {
    if (target.redis === null) {
      throw new FaultError(
        `${fault.id} (${fault.type}) needs target.redis: the compose service name of Redis`,
        fault.id,
      );
    }
    return containerCommands(composeBase(target), fault, action, [target.redis]);
  };
}

function throughPumba(netem: (fault: DeploymentFault) => Netem): ComposeCommands {
  return (target, fault, services) => pumbaCommands(target, fault, requireServices(fault, services), netem);
}

/** How compose carries out a fault of each kind. */
const COMPOSE_COMMANDS: FaultTable<ComposeCommands> = {
  "node.kill": onNodes("kill"),
  "node.freeze": onNodes("freeze"),
  "node.thaw": onNodes("thaw"),
  "node.drain": onNodes("drain"),
  "node.restart": onNodes("restart"),
  "redis.kill": onRedis("kill"),
  "redis.restart": onRedis("restart"),
  "net.partition": (target, fault, services) =>
    partitionCommands(target, fault, requireServices(fault, services)),
  "net.loss": throughPumba(lossNetem),
  "net.bandwidth": throughPumba(rateNetem),
  "net.delay": throughPumba(delayNetem),
};

/**
 * The commands a fault takes on a compose deployment: argv arrays, no shell. `services` are the
 * node services hit (ignored by redis.* faults, which hit `target.redis`). Throws a FaultError
 * naming the fault and the fix when compose cannot carry it out.
 */
export function composeFaultCommands(
  target: ComposeTarget,
  fault: DeploymentFault,
  services: readonly string[],
): StepCommands {
  return COMPOSE_COMMANDS[fault.type](target, fault, services);
}

/** Faults on a docker compose deployment, through the docker CLI. */
export class ComposeInjector extends CommandInjector {
  readonly backend = "compose" as const;

  constructor(
    private readonly target: ComposeTarget,
    run: StepRunner = execStep,
    timing: Partial<CommandTiming> = {},
  ) {
    super(composeBase(target), run, timing);
  }

  async nodes(): Promise<readonly NodeRef[]> {
    return Promise.all(
      this.target.nodes.map(async (service, index) => ({
        name: service,
        index,
        nodeId: await this.nodeId(service),
      })),
    );
  }

  async roomNode(room: string): Promise<NodeRef | undefined> {
    if (this.target.redis === null) return undefined;
    return this.nodeFromRoomMap(room, [...this.base, "exec", "-T", this.target.redis, "redis-cli"]);
  }

  protected commands(fault: DeploymentFault, nodes: readonly NodeRef[]): StepCommands {
    return composeFaultCommands(
      this.target,
      fault,
      nodes.map((n) => n.name),
    );
  }

  protected subjects(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly FaultSubject[] {
    if (fault.type.startsWith("redis.")) return [{ kind: "redis", name: this.target.redis ?? "redis" }];
    return this.nodeSubjects(nodes);
  }

  /** Best effort: a node whose log cannot be read has no known id. */
  private async nodeId(service: string): Promise<string | undefined> {
    const log = await this.stdoutOf({
      argv: [...this.base, "logs", "--no-color", service],
      why: `${service}'s log, for its LiveKit node id`,
    });
    return log === undefined ? undefined : nodeIdFromLog(log);
  }
}
