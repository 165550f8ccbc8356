/** What a drill observed, as the analysis reads it: the swarm's events, the server's answers, the faults. */
import type { SignalConnection } from "@livekit-swarm/testbed";
import type { ParticipantEvent, Role, WindowSample } from "@livekit-swarm/schema";

export interface ObservedEvent {
  readonly t: number;
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly event: ParticipantEvent;
}

export interface ServerView {
  readonly t: number;
  readonly room: string;
  readonly participants: readonly { readonly identity: string; readonly sid: string }[] | null;
  readonly error: string | null;
}

/** Where Redis had a room at `t`: its node (room_node_map) and SID (ListRooms); null when it had none. */
export interface PlacementSample {
  readonly t: number;
  readonly room: string;
  readonly node: string | null;
  readonly sid: string | null;
}

export interface FaultTiming {
  readonly id: string;
  /** Epoch ms the fault was issued. */
  readonly injectedAt: number;
  /** Epoch ms it was confirmed (its T0); null when it never was. */
  readonly confirmedAt: number | null;
  readonly revertedAt: number | null;
  /** The nodes it failed, by name (empty: no node, such as Redis or clients); absent: not known. */
  readonly nodes?: readonly string[];
  /** Where each room was when it was injected; absent: the placement before the first fault stands. */
  readonly roomNodes?: Readonly<Record<string, string | null>>;
}

/** A signalling connection the balancer logged: which node served whom, from when (epoch ms). Declared once, where the log is read. */
export type { SignalConnection } from "@livekit-swarm/testbed";

export interface DrillObservations {
  readonly participants: readonly {
    readonly identity: string;
    readonly room: string;
    readonly role: Role;
    /** The engine it ran on: `lean` assembles video frames from RTP and never decodes them. */
    readonly engine?: string;
    /** A late joiner: the client.join fault that added it. */
    readonly lateJoiner?: string;
  }[];
  readonly events: readonly ObservedEvent[];
  readonly samples: readonly WindowSample[];
  readonly faults: readonly FaultTiming[];
  readonly serverViews: readonly ServerView[];
  /** Each room's node and SID as Redis had them, every 2 s (absent: not recorded). */
  readonly placements?: readonly PlacementSample[];
  /**
   * Which node carried whose signalling (the local testbed's balancer log); null or absent when
   * the backend cannot tell (compose, Kubernetes): populations are then unknown.
   */
  readonly signalConnections?: readonly SignalConnection[] | null;
  readonly roomNodes: {
    readonly before: Readonly<Record<string, string | null>>;
    readonly after: Readonly<Record<string, string | null>>;
  };
  /** Epoch ms: the baseline's start, the fault phase's start, the end of observation, the after window. */
  /**
   * False when the drill stopped early (Ctrl-C, an abort, an error): the end state is then a
   * snapshot mid-recovery, and no finding is drawn from it.
   */
  readonly settled?: boolean;
  readonly windows: {
    readonly baselineStart: number;
    readonly faultPhaseStart: number;
    readonly observeEnd: number;
    readonly afterStart: number;
    readonly end: number;
  };
}

/** Where a participant's session stood: never joined, up, mid-reconnect, or given up. */
export type Lifecycle = "none" | "connected" | "reconnecting" | "gone";

/** A participant's lifecycle and sid from `t` on, for the server-view comparison. */
export interface LifecycleAt {
  readonly t: number;
  readonly state: Lifecycle;
  readonly sid: string | null;
}

/** Epoch ms to the drill's clock (ms after T0, or after the fault phase's start when nothing was confirmed). */
export type Relative = (t: number) => number;

/** A fault's T0: its confirmation, or its injection when it never was confirmed. */
export function faultT0(f: FaultTiming): number {
  return f.confirmedAt ?? f.injectedAt;
}
