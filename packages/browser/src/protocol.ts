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

/** The page's API, installed as `window.lkswarm` by the bundle. */
export interface PageApi {
  /** Joins and publishes; false after a `join-failed` event. */
  join(options: PageJoin): Promise<boolean>;
  sample(): Promise<PageSample>;
  leave(): Promise<void>;
}

/** The function the Node side exposes to the page for events (`page.exposeFunction`). */
export const EVENT_BINDING = "lkswarmEvent";

/** Events the page emits: the engines' shapes, plus what only the Node side can time. */
export type PageEvent = ParticipantEvent;
