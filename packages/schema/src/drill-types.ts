/**
 * A chaos drill, resolved: what `swarm chaos run <drill.yaml>` does. The YAML spells keys in
 * kebab-case (`confirm-within`, `media-resume`); this is the parsed, defaulted form, every duration
 * in milliseconds and every share as a ratio in [0, 1].
 */
import type { Milliseconds } from "./duration.js";
import type { Scenario } from "./scenario-types.js";

export const faultTypes = [
  "node.kill",
  "node.freeze",
  "node.thaw",
  "node.drain",
  "node.restart",
  "redis.kill",
  "redis.restart",
  "net.partition",
  "net.loss",
  "net.bandwidth",
  "net.delay",
  "client.simulate",
  "client.join",
] as const;
export type FaultType = (typeof faultTypes)[number];

/** Faults the swarm's own participants carry out (the drill runner), never a backend. */
export const clientFaultTypes = ["client.simulate", "client.join"] as const satisfies readonly FaultType[];
export type ClientFaultType = (typeof clientFaultTypes)[number];
/** Faults a backend injects into the deployment: its nodes, Redis, the network between them. */
export type DeploymentFaultType = Exclude<FaultType, ClientFaultType>;

// --- drill verdict: findings (issue 12) -----------------------------------------------------------
/**
 * What a drill can find LiveKit (or the SDK) doing wrong, by id. A high-severity finding fails the
 * drill unless `expect.accept-findings` lists its id.
 */
export const findingIds = [
  "stuck-reconnecting",
  "media-never-resumed",
  "ghost-participants",
  "missing-from-server-view",
  "reconnect-cycles",
  "split-brain",
  "late-joiner-unheard",
  "peers-unseen",
] as const;
export type FindingId = (typeof findingIds)[number];
// --- end drill verdict: findings ------------------------------------------------------------------

/** rtc-node's `Room.simulateScenario` kinds, in kebab-case. */
export const simulateScenarios = [
  "signal-reconnect",
  "node-failure",
  "server-leave",
  "migration",
  "force-tcp",
  "force-tls",
  "full-reconnect",
  "disconnect-signal-on-resume",
] as const;
export type SimulateScenario = (typeof simulateScenarios)[number];

export const drillBackends = ["local", "compose", "kubernetes"] as const;
export type DrillBackend = (typeof drillBackends)[number];

/**
 * Which part of the deployment a fault hits. Node selections resolve to nodes at injection time
 * (the busiest room's node is only known once the swarm has joined) and are written to the journal.
 *
 * YAML: `target: busiest-room-node | random-node | all-nodes`, `target: {node: 2}` (1-based),
 * `target: {share: 50%}` (of nodes), `target: {ref: <fault id>}` (the nodes an earlier fault hit),
 * `target: {participants: 25%, room: busiest}` (client.simulate). redis.* faults take no target;
 * client.join takes none either: it adds participants to every room of the workload.
 */
export type FaultTarget =
  | { readonly kind: "busiest-room-node" }
  | { readonly kind: "random-node" }
  | { readonly kind: "all-nodes" }
  | { readonly kind: "node"; readonly index: number }
  | { readonly kind: "share-of-nodes"; readonly share: number }
  | { readonly kind: "ref"; readonly fault: string }
  | { readonly kind: "redis" }
  | { readonly kind: "every-room" }
  | { readonly kind: "participants"; readonly share: number; readonly busiestRoomOnly: boolean };

export interface FaultParams {
  /** net.loss: the share of packets dropped, (0, 1]. */
  readonly ratio?: number;
  /** net.loss, net.partition: which way traffic is cut (from the node's point of view). */
  readonly direction?: "egress" | "ingress" | "both";
  /** net.partition: cut the node off from everything (`all`) or only from Redis (`redis`). */
  readonly from?: "all" | "redis";
  /** net.bandwidth: rate in kbit/s (YAML `rate: 500kbit` or `2mbit`). */
  readonly rateKbit?: number;
  /** net.delay: added one-way delay and jitter (needs tc netem in the kernel). */
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** node.drain, node.restart: how long SIGTERM may take before SIGKILL (as Kubernetes does). */
  readonly graceMs?: number;
  /** client.simulate: the scenario each chosen participant simulates. */
  readonly scenario?: SimulateScenario;
  /** client.join: late joiners added to each room (subscribers that must see and hear the room). */
  readonly perRoom?: number;
}

export interface DrillFault {
  /** Unique in the drill; defaults to `<type>-<position>` (e.g. `node.kill-1`). */
  readonly id: string;
  readonly type: FaultType;
  readonly target: FaultTarget;
  /** Offset from the end of the baseline (the fault phase's start). */
  readonly at: Milliseconds;
  /**
   * How long the fault lasts before it is reverted (node restarted, thawed, rule removed). Null:
   * an instant fault (client.simulate, client.join, node.thaw) or one that stays until the drill's rollback.
   */
  readonly duration: Milliseconds | null;
  /** The injector must confirm the fault took effect within this, or the drill is inconclusive. */
  readonly confirmWithin: Milliseconds;
  readonly params: FaultParams;
}

/** A fault a backend injects: the only kind a FaultInjector is handed. */
export type DeploymentFault = DrillFault & { readonly type: DeploymentFaultType };

/** Whether a backend injects `fault` (else the runner's participants carry it out). */
export function isDeploymentFault(fault: DrillFault): fault is DeploymentFault {
  return !(clientFaultTypes as readonly FaultType[]).includes(fault.type);
}

export interface LocalTarget {
  readonly backend: "local";
  /** Attach to a testbed started with `swarm testbed up --name <name>`; null: the drill starts its own. */
  readonly testbed: string | null;
  /** For a testbed the drill starts. */
  readonly nodes: number;
  readonly netns: boolean;
  readonly prometheus: boolean;
  /**
   * LiveKit's built-in TURN over UDP on every node of the testbed the drill starts (a port each),
   * for workloads whose `network-profiles` put participants behind a `turn-only` firewall; with
   * one node and such profiles, over TLS too (docs/transport.md).
   */
  readonly turn: boolean;
}

export interface ComposeTarget {
  readonly backend: "compose";
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** `docker compose -p`; null: compose's default. */
  readonly project: string | null;
  /** `docker compose -f`; null: compose's default. */
  readonly file: string | null;
  /** Service names of the livekit-server nodes, in node order, and of Redis. */
  readonly nodes: readonly string[];
  readonly redis: string | null;
  /** The compose network that net.partition disconnects a node from. */
  readonly network: string | null;
}

export interface KubernetesTarget {
  readonly backend: "kubernetes";
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly namespace: string;
  /** kubectl --context; null: the current context. */
  readonly context: string | null;
  /** Label selectors of the livekit-server pods and of Redis. */
  readonly nodeSelector: string;
  readonly redisSelector: string | null;
  /** Where redis-cli, run inside the Redis pod, finds Redis on the pod's loopback (default 6379). */
  readonly redisPort: number;
}

export type DrillTarget = LocalTarget | ComposeTarget | KubernetesTarget;

export interface PrometheusProbe {
  readonly query: string;
  readonly min: number | null;
  readonly max: number | null;
}

/** Checked at the end of the baseline (before) and of the drill (after). */
export interface SteadyState {
  /** Share of the planned participants connected, at least. */
  readonly connected: number | null;
  /** Share of the subscribed tracks that receive media, at least. */
  readonly mediaFlowing: number | null;
  /** Packet loss over the window (ratio of sums), at most. */
  readonly maxLoss: number | null;
  /** Queries against the target's Prometheus (local: the testbed's, started when any is given). */
  readonly prometheus: readonly PrometheusProbe[];
}

export interface Percentiles {
  readonly p50: Milliseconds | null;
  readonly p95: Milliseconds | null;
  readonly max: Milliseconds | null;
}

/**
 * Who a node fault reached, and how: its signalling ran through the failed node (it notices at
 * once), only its room was on the failed node (it waits for the signal relay's timeout), or
 * neither. A participant whose signalling and room were both on the failed node is in the first.
 */
export const recoveryPopulations = ["signal-via-failed-node", "room-on-failed-node", "other"] as const;
export type RecoveryPopulation = (typeof recoveryPopulations)[number];

/** Bounds on a recovery time over every disrupted participant (population null) or one population. */
export interface RecoveryBounds extends Percentiles {
  readonly population: RecoveryPopulation | null;
}

/** The recovery objectives that decide the verdict. Every one is optional. */
export interface Expectations {
  /** The fault's T0 to a participant's first reconnecting or disconnected event. */
  readonly detect: readonly RecoveryBounds[] | null;
  /** The fault's T0 to a participant's last reconnected (or rejoined) event. */
  readonly reconnect: readonly RecoveryBounds[] | null;
  /** T0 to the first fresh packet of each subscribed track that stalled. */
  readonly mediaResume: Percentiles | null;
  /** Participants not connected at the end of the observation, at most. */
  readonly participantsLost: number | null;
  /** Server-side participants no client owns (stale or duplicate) at the end, at most. */
  readonly ghosts: number | null;
  /** The server's ListParticipants must agree with the swarm within this of T0. */
  readonly consistentWithin: Milliseconds | null;
  /** Quality in the after window. */
  readonly qualityAfter: {
    readonly maxLoss: number | null;
    /** Loss after / loss before, at most (a floor of 0.5% absolute keeps a clean baseline from failing on noise). */
    readonly maxLossVsBaseline: number | null;
    /** Inbound bitrate after / before, at least. */
    readonly minBitrateVsBaseline: number | null;
  } | null;
  /** Findings (by id) that do not fail the drill: known defects the drill documents (issue 12). */
  readonly acceptFindings: readonly FindingId[];
}

export interface AbortConditions {
  /** The whole drill, baseline to rollback, may take no longer. */
  readonly maxDuration: Milliseconds;
  /** At most this many distinct nodes may be hit by faults; more is refused before injecting. */
  readonly maxNodes: number | null;
  /** Abort when more than this share of participants is down (reconnecting or gone) ... */
  readonly maxParticipantsDown: number | null;
  /** ... for longer than this. */
  readonly downFor: Milliseconds;
}

export interface Drill {
  /** The file it came from, for messages and the journal; null when parsed from text. */
  readonly file: string | null;
  readonly name: string;
  readonly description: string;
  readonly target: DrillTarget;
  /** The swarm that forms the steady state: a scenario file's, then the drill's inline keys over it. */
  readonly workload: {
    readonly scenario: Scenario;
    /** The scenario file, resolved relative to the drill file; null when inline only. */
    readonly scenarioFile: string | null;
    /** Rejoin a participant the SDK gave up on, as an app would (off: measure the SDK alone). */
    readonly rejoin: boolean;
  };
  /** Steady swarm before the first fault: the quality baseline. */
  readonly baseline: Milliseconds;
  /** Observation after the last fault's T0, before the after window. */
  readonly observe: Milliseconds;
  /** The window whose quality is compared with the baseline. */
  readonly after: Milliseconds;
  readonly steadyState: SteadyState;
  readonly faults: readonly DrillFault[];
  readonly abort: AbortConditions;
  readonly expect: Expectations;
}
