/**
 * What the Node side and the page say to each other: the page's `window.lkswarm` API, called with
 * puppeteer's `page.evaluate`, and the events it pushes through an exposed function. Types only,
 * so both sides (Node, and the DOM bundle) import it without loading anything.
 */
import type { ParticipantEvent, PublishedVideo } from "@livekit-swarm/schema";

/** What a page needs to join: the participant's plan, reduced to what livekit-client takes. */
export interface PageJoin {
  readonly url: string;
  readonly token: string;
  readonly publishAudio: boolean;
  readonly publishVideo: boolean;
  /** Picks the pattern's tint and bar offset, as the other engines' publishers. */
  readonly publisherIndex: number;
  readonly subscribe: boolean;
  /** Reads the pixel stamp of received video (latency, first frame). */
  readonly probe: boolean;
  /** The participant attribute naming a publisher's engine (load's ENGINE_ATTRIBUTE). */
  readonly engineAttribute: string;
  readonly video: PublishedVideo;
  /**
   * The publisher's tone made in the page (Web Audio), in Hz: set when the browser hosts several
   * participants, whose one fake microphone could play only one publisher's tone. Absent: the fake
   * microphone (Chromium's file-backed device).
   */
  readonly toneHz?: number;
  /**
   * End-to-end encryption: the shared key's bytes (a wrong-key subscriber's already wrong) and the
   * key provider's options. Handed to the page by `page.evaluate` only: never in a URL, a title, a
   * console line or a file.
   */
  readonly e2ee?: PageE2ee;
}

export interface PageE2ee {
  readonly key: readonly number[];
  readonly failureTolerance: number;
  readonly ratchetWindowSize: number;
}

/** A received video frame's stamp, read in the page: end-to-end latency from one publisher. */
export interface PageLatency {
  readonly publisher: string;
  /** The publisher's engine attribute: only some engines stamp capture times (lean stamps loop positions). */
  readonly publisherEngine: string | undefined;
  readonly latencyS: number;
}

/** One `RTCStats` dictionary as the page serialises it (a plain object, JSON-safe). */
export type PageStatsEntry = Readonly<Record<string, unknown>>;

export interface PageSample {
  readonly stats: readonly PageStatsEntry[];
  /** Stamps read since the previous sample. */
  readonly latencies: readonly PageLatency[];
}

/** One subscribed track at a watch look: its publisher, and its receiver's inbound-rtp entries. */
export interface PageStream {
  readonly publisher: string;
  readonly kind: "audio" | "video";
  /**
   * This subscription's number in the page: a track subscribed again (after a reconnect) is a new
   * receiver whose counters start over, so it must not be taken for the old one.
   */
  readonly subscription: number;
  readonly inbound: readonly PageStatsEntry[];
}

/** Watch mode (chaos drills): what the page receives and whom it sees, at one look. */
export interface PageLook {
  /** livekit-client's room state is `connected` (not reconnecting, not gone). */
  readonly connected: boolean;
  /** The remote participants' identities. */
  readonly peers: readonly string[];
  readonly streams: readonly PageStream[];
}

/**
 * The page's API, installed as `window.lkswarm` by the bundle. A page holds one participant or
 * several (`--participants-per-page`), each a livekit-client Room of its own, named by its slot.
 */
export interface PageApi {
  /** Joins and publishes; false after a `join-failed` event. */
  join(slot: number, options: PageJoin): Promise<boolean>;
  sample(slot: number): Promise<PageSample>;
  /** Watch mode: one look at the subscribed tracks' packet counts and the peers. */
  look(slot: number): Promise<PageLook>;
  leave(slot: number): Promise<void>;
  /** Ratchets the shared key the participant encrypts with; false when it has no E2EE. */
  ratchetKey(slot: number): boolean;
  /**
   * A drill's client.simulate scenario, as livekit-client's `Room.simulateScenario` acts it out
   * (the scenarios' names are its own); rejects with the reason when it cannot.
   */
  simulate(slot: number, scenario: string): Promise<void>;
}

/** Where the page server serves livekit-client's E2EE worker (bundle.ts). */
export const E2EE_WORKER_PATH = "/e2ee-worker.js";

/** The function the Node side exposes to the page for events (`page.exposeFunction`): (slot, event). */
export const EVENT_BINDING = "lkswarmEvent";

/** The element holding one slot's canvas and videos (a screenshot of a shared page is clipped to it). */
export function slotElementId(slot: number): string {
  return `lkswarm-slot-${slot}`;
}

/** Events the page emits: the engines' shapes, plus what only the Node side can time. */
export type PageEvent = ParticipantEvent;
