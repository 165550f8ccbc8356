/** What the orchestrator and its worker processes say to each other over IPC. */

export type Role = "publisher" | "subscriber";
export type Kind = "audio" | "video";

export interface ParticipantPlan {
  readonly room: string;
  readonly identity: string;
  readonly role: Role;
  readonly publishAudio: boolean;
  readonly publishVideo: boolean;
  /** Index among the room's publishers: picks the tone frequency and pattern tint. */
  readonly publisherIndex: number;
  /** Subscribes to other participants' tracks. */
  readonly subscribe: boolean;
  /** Decodes video frames to measure end-to-end latency and first frame exactly. */
  readonly probe: boolean;
  /** Tracks this participant should receive once everyone is in. */
  readonly expectedTracks: { readonly audio: number; readonly video: number };
  /** Milliseconds after the run's start at which this participant joins. */
  readonly joinAtMs: number;
}

export interface MediaPlan {
  readonly video: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    readonly codec: "vp8" | "h264" | "vp9" | "av1";
    readonly simulcast: boolean;
    readonly maxBitrate: number;
  };
  readonly audio: { readonly talkMs?: number; readonly silenceMs?: number };
  /** Publishers each subscriber subscribes to at most (a layout cap); undefined: all. */
  readonly subscribeLimit?: number;
  readonly data?: { readonly intervalMs: number };
}

export interface WorkerPlan {
  readonly worker: number;
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** Epoch ms at which joinAtMs offsets start. */
  readonly startAtMs: number;
  readonly statsIntervalMs: number;
  readonly participants: readonly ParticipantPlan[];
  readonly media: MediaPlan;
}

export interface InboundTrackSample {
  readonly kind: Kind;
  readonly expected: number;
  readonly lost: number;
  readonly received: number;
  readonly bytes: number;
  readonly jitterS: number | undefined;
  readonly nack: number;
  readonly pli: number;
  readonly fir: number;
  readonly framesDecoded: number;
  readonly framesDropped: number;
  readonly freezes: number;
  readonly freezeS: number;
  readonly concealedSamples: number;
  readonly totalSamples: number;
}

export interface OutboundTrackSample {
  readonly kind: Kind;
  readonly packets: number;
  readonly bytes: number;
  readonly nack: number;
  readonly pli: number;
  readonly fir: number;
  readonly qualityLimitation: string | undefined;
}

/** One participant's stats over one sampling window: a line of samples.jsonl. */
export interface WindowSample {
  readonly t: number;
  readonly durationMs: number;
  readonly room: string;
  readonly participant: string;
  readonly role: Role;
  readonly worker: number;
  readonly inbound: readonly InboundTrackSample[];
  readonly outbound: readonly OutboundTrackSample[];
  readonly rttS: number | undefined;
  /** Data packets this participant sent and received in the window (scenario `data`). */
  readonly dataSent: number;
  readonly dataReceived: number;
  /** End-to-end video latency seen by a probe in this window, seconds. */
  readonly latencyS?: { readonly p50: number; readonly max: number; readonly n: number };
}

export type ParticipantEvent =
  | { readonly type: "joined"; readonly joinS: number }
  | { readonly type: "join-failed"; readonly reason: string; readonly message: string }
  | { readonly type: "first-packet"; readonly kind: Kind; readonly afterJoinStartS: number }
  | {
      readonly type: "first-frame";
      readonly kind: Kind;
      readonly afterJoinStartS: number;
      readonly exact: boolean;
    }
  | { readonly type: "track-subscribed"; readonly kind: Kind; readonly afterJoinStartS: number }
  | { readonly type: "reconnecting" }
  | { readonly type: "reconnected"; readonly durationS: number }
  | { readonly type: "disconnected"; readonly reason: string }
  | { readonly type: "quality"; readonly quality: string };

export type WorkerMessage =
  | { readonly type: "ready"; readonly worker: number }
  | {
      readonly type: "event";
      readonly t: number;
      readonly worker: number;
      readonly room: string;
      readonly participant: string;
      readonly role: Role;
      readonly event: ParticipantEvent;
    }
  | { readonly type: "samples"; readonly samples: readonly WindowSample[] }
  | { readonly type: "done"; readonly worker: number };

export type OrchestratorMessage =
  { readonly type: "start"; readonly plan: WorkerPlan } | { readonly type: "stop" };
