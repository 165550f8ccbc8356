/**
 * What a backend (local processes, docker compose, Kubernetes) does for the drill runner: list the
 * LiveKit nodes, tell which node hosts a room, inject a fault, confirm it took effect, revert it.
 * client.simulate is not here: the runner asks the swarm's own participants to simulate.
 */
import {
  KnownError,
  type DrillBackend,
  type DeploymentFault,
  type DeploymentFaultType,
} from "@livekit-swarm/schema";
import type { SignalConnection } from "@livekit-swarm/testbed";
import type { FaultSubject } from "./journal.js";

/**
 * A backend's handling of each fault kind it injects, one entry per kind: a kind added to schema's
 * `faultTypes` is a type error in every table until each backend says what it does with it.
 */
export type FaultTable<T> = { readonly [K in DeploymentFaultType]: T };

/** One livekit-server node as a backend knows it. */
export interface NodeRef {
  /** The backend's name: `node2` (local), a compose service, a pod name. */
  readonly name: string;
  /** 0-based position in the backend's node list. */
  readonly index: number;
  /** LiveKit's `ND_...` id when known (it changes at every process start). */
  readonly nodeId: string | undefined;
}

export interface InjectedFault {
  readonly subjects: readonly FaultSubject[];
  /** What was issued (signals, commands), for the journal. */
  readonly actions: readonly string[];
  /**
   * Resolves with the evidence once the fault is seen in effect (process gone, process stopped,
   * rule present); rejects with a message naming what was not seen once `deadlineMs` has passed.
   */
  confirm(deadlineMs: number): Promise<string>;
  /** Undoes the fault (restart, thaw, remove the rule). Idempotent; resolves with what it did. */
  revert(): Promise<string>;
  /**
   * Once reverted: why the fault did not hold until its revert (a rule deleted or replaced by
   * something else, a delayer that died), or undefined when it held. Faults that cannot tell
   * leave it out; the drill then takes it as held.
   */
  lapsed?(): string | undefined;
}

export interface FaultInjector {
  readonly backend: DrillBackend;
  nodes(): Promise<readonly NodeRef[]>;
  /** The node hosting `room`, when the backend can tell; undefined when unplaced or unknown. */
  roomNode(room: string): Promise<NodeRef | undefined>;
  /**
   * Which node carried whose signalling so far, when the backend can tell (the local testbed's
   * balancer log); absent or undefined: unknown, and the drill says so.
   */
  signalConnections?(): readonly SignalConnection[] | undefined;
  /** Issues the fault on `nodes` (empty for redis.* faults). Throws a FaultError when it cannot. */
  inject(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<InjectedFault>;
  /** The commands or signals `inject` would issue, without issuing them (dry run). */
  describe(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly string[];
  /**
   * Before the swarm starts: throws a FaultError naming what the deployment lacks for `faults`
   * (Chaos Mesh on Kubernetes), so a drill that cannot inject fails in one line, not after its baseline.
   */
  preflight?(faults: readonly DeploymentFault[]): Promise<void>;
}

/** A fault that cannot be injected here: the message names the fault and the fix. */
export class FaultError extends KnownError<"fault"> {
  override readonly name = "FaultError";
  constructor(
    message: string,
    readonly fault: string,
  ) {
    super("fault", message);
  }
}

/** One command a compose or Kubernetes backend runs: argv (no shell), optional stdin. */
export interface ShellStep {
  readonly argv: readonly string[];
  readonly stdin?: string;
  /** Why this step runs, for the dry run and the journal. */
  readonly why: string;
  /** Confirm steps: the command's stdout must match this (a RegExp source) for the fault to count. */
  readonly expect?: string;
}

export interface FaultCommands {
  readonly inject: readonly ShellStep[];
  /** Run (repeatedly, until the deadline) after inject; every step must exit 0 and match `expect`. */
  readonly confirm: readonly ShellStep[];
  readonly revert: readonly ShellStep[];
}

/** Runs one step; the compose and Kubernetes injectors take it as a parameter so tests can record. */
export type StepRunner = (
  step: ShellStep,
) => Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>;
