import type { EngineChoice, PublishedVideo, Scenario } from "@livekit-swarm/schema";
import { ENGINE_RULES, checkEngines, type VideoShape } from "../engine/engine.js";
import type { EngineName, MediaPlan, ParticipantPlan } from "./messages.js";

/** The scenario's run shape (who joins where and when). */
export function shapeOf(scenario: Scenario): RunShape {
  return {
    engine: scenario.engine,
    rooms: scenario.rooms,
    videoPublishers: scenario.videoPublishers,
    audioPublishers: scenario.audioPublishers,
    subscribers: scenario.subscribers,
    publishersSubscribe: scenario.publishersSubscribe,
    latencyProbes: scenario.latencyProbes,
    browserProbes: scenario.browserProbes,
    numPerSecond: scenario.numPerSecond,
    roomPrefix: scenario.roomPrefix,
    identityPrefix: scenario.identityPrefix,
    subscribeLimit: scenario.subscribeLimit ?? undefined,
    data: scenario.data !== null,
    ...(scenario.e2ee !== null ? { e2ee: { wrongKeySubscribers: scenario.e2ee.wrongKeySubscribers } } : {}),
    video: {
      resolution: scenario.video.resolution,
      width: scenario.video.width,
      height: scenario.video.height,
      fps: scenario.video.fps,
      codec: scenario.video.codec,
    },
  };
}

/** What every publisher sends and how subscribers receive, from the scenario. */
export function mediaPlanFor(scenario: Scenario): MediaPlan {
  return {
    video: {
      width: scenario.video.width,
      height: scenario.video.height,
      fps: scenario.video.fps,
      codec: scenario.video.codec,
      simulcast: scenario.video.simulcast,
      maxBitrate: videoBitrate(scenario.video.width * scenario.video.height, scenario.video.fps),
    },
    audio: {
      ...(scenario.audio.talk !== null ? { talkMs: scenario.audio.talk } : {}),
      ...(scenario.audio.silence !== null ? { silenceMs: scenario.audio.silence } : {}),
    },
    ...(scenario.participantsPerPage > 1 || scenario.pagesPerBrowser > 1
      ? {
          browserLayout: {
            participantsPerPage: scenario.participantsPerPage,
            pagesPerBrowser: scenario.pagesPerBrowser,
          },
        }
      : {}),
    ...(scenario.subscribeLimit !== null ? { subscribeLimit: scenario.subscribeLimit } : {}),
    ...(scenario.data !== null ? { data: { intervalMs: scenario.data.interval } } : {}),
    ...(scenario.e2ee !== null
      ? {
          e2ee: {
            failureTolerance: scenario.e2ee.failureTolerance,
            ratchetWindowSize: scenario.e2ee.ratchetWindowSize,
            ...(scenario.e2ee.ratchetEveryMs !== undefined
              ? { ratchetEveryMs: scenario.e2ee.ratchetEveryMs }
              : {}),
          },
        }
      : {}),
  };
}

/** Roughly what livekit-client's presets send: ~0.1 bit per pixel-frame, capped at 3 Mb/s. */
function videoBitrate(pixels: number, fps: number): number {
  return Math.min(3_000_000, Math.round(pixels * fps * 0.1));
}

/** A run's shape, resolved from flags and scenario file: the scenario's head counts and more. */
export interface RunShape extends Pick<
  Scenario,
  "rooms" | "videoPublishers" | "audioPublishers" | "subscribers" | "publishersSubscribe"
> {
  /** `mixed`: the latency probes on native, everyone else on lean; otherwise everyone on the one engine. */
  readonly engine: EngineChoice;
  readonly latencyProbes: number;
  /** The last subscribers of each room on the browser engine, whatever `engine` says. */
  readonly browserProbes: number;
  readonly numPerSecond: number;
  readonly roomPrefix: string;
  readonly identityPrefix: string;
  readonly subscribeLimit: number | undefined;
  /** Publishers send data packets (scenario `data`). */
  readonly data: boolean;
  /** What video publishers send (engines refuse what they cannot). */
  readonly video: VideoShape;
  /** End-to-end encrypted media; the last `wrongKeySubscribers` subscribers of a room hold another key. */
  readonly e2ee?: { readonly wrongKeySubscribers: number };
}

export interface RunPlan {
  readonly participants: readonly ParticipantPlan[];
  /** When the last participant is scheduled to join, ms after the start. */
  readonly rampMs: number;
  readonly rooms: readonly string[];
}

/**
 * Who joins which room and when. Each room has max(video, audio) publishers: publisher i sends
 * video when i < videoPublishers and audio when i < audioPublishers (so `--video-publishers 1
 * --audio-publishers 1` is one camera-and-mic participant, as `lk load-test` counts them), then
 * `subscribers` receive-only participants: the first `latencyProbes` of them on the probe engine,
 * the last `browserProbes` in headless Chromium (a browser probe decodes video and reads the stamp,
 * so it is a latency probe too; where the two overlap the browser wins, as `--browser-probes` is
 * the more specific ask). Rooms fill one after another, publishers first, at
 * `numPerSecond` joins per second over the whole run. Refuses (EngineError) publishers whose engine
 * cannot send what they would publish.
 */
export function planRun(shape: RunShape): RunPlan {
  const bulk: EngineName = shape.engine === "mixed" ? "lean" : shape.engine;
  const probeEngine: EngineName = shape.engine === "mixed" ? "native" : shape.engine;
  const publishers = Math.max(shape.videoPublishers, shape.audioPublishers);
  const participants: ParticipantPlan[] = [];
  const rooms: string[] = [];
  const gapMs = 1000 / shape.numPerSecond;
  let order = 0;
  for (let r = 0; r < shape.rooms; r++) {
    const room = `${shape.roomPrefix}${r + 1}`;
    rooms.push(room);
    for (let i = 0; i < publishers; i++) {
      const others = expectedFrom(shape, publishers, i);
      participants.push({
        engine: bulk,
        room,
        identity: `${shape.identityPrefix}pub-${i + 1}`,
        role: "publisher",
        publishVideo: i < shape.videoPublishers,
        publishAudio: i < shape.audioPublishers,
        publisherIndex: i,
        subscribe: shape.publishersSubscribe,
        probe: false,
        expectedTracks: shape.publishersSubscribe ? others : { audio: 0, video: 0 },
        joinAtMs: Math.round(order++ * gapMs),
      });
    }
    for (let j = 0; j < shape.subscribers; j++) {
      const browser = j >= shape.subscribers - shape.browserProbes;
      const latencyProbe = j < shape.latencyProbes || browser;
      participants.push({
        engine: browser ? "browser" : latencyProbe ? probeEngine : bulk,
        room,
        identity: `${shape.identityPrefix}sub-${j + 1}`,
        role: "subscriber",
        publishVideo: false,
        publishAudio: false,
        publisherIndex: -1,
        subscribe: true,
        probe: latencyProbe && shape.videoPublishers > 0,
        expectedTracks: expectedFrom(shape, publishers, -1),
        joinAtMs: Math.round(order++ * gapMs),
        ...(j >= shape.subscribers - (shape.e2ee?.wrongKeySubscribers ?? 0)
          ? { wrongKey: true as const }
          : {}),
      });
    }
  }
  checkEngines(participants, shape);
  const last = participants[participants.length - 1];
  return { participants, rampMs: last?.joinAtMs ?? 0, rooms };
}

/**
 * The tracks a participant should end up receiving: from the first `subscribeLimit` publishers in
 * join order, itself excluded (publishers join in index order, so those are the lowest indexes).
 */
function expectedFrom(shape: RunShape, publishers: number, self: number): { audio: number; video: number } {
  const limit = shape.subscribeLimit ?? publishers;
  let audio = 0;
  let video = 0;
  let taken = 0;
  for (let i = 0; i < publishers && taken < limit; i++) {
    if (i === self) continue;
    taken++;
    if (i < shape.audioPublishers) audio++;
    if (i < shape.videoPublishers) video++;
  }
  return { audio, video };
}

/** Rooms dealt round-robin to `workers` processes; a room never spans two processes. */
export function shardByRoom(plan: RunPlan, workers: number): ParticipantPlan[][] {
  const index = new Map(plan.rooms.map((room, i) => [room, i % workers]));
  const shards: ParticipantPlan[][] = Array.from({ length: workers }, () => []);
  for (const p of plan.participants) shards[index.get(p.room) ?? 0]?.push(p);
  return shards.filter((s) => s.length > 0);
}

/** The lean loops' packets: one Opus packet per 20 ms pacer tick, video payloads of at most 1,200 bytes. */
const AUDIO_PACKETS_PER_S = 50;
const VIDEO_PAYLOAD_BYTES = 1200;

/** Packets per second of one video track at `video`'s bitrate and frame rate: whole packets per frame. */
export function videoPacketRate(video: Pick<PublishedVideo, "fps" | "maxBitrate">): number {
  return video.fps * Math.ceil(video.maxBitrate / video.fps / 8 / VIDEO_PAYLOAD_BYTES);
}

/**
 * Packets per second a participant sends and receives once everyone is in: its own tracks and
 * the ones it expects, video at the top layer's rate by the plan's bitrate (`videoBitrate`). A
 * simulcast publisher's lower layers are not counted, and fit in the margin: the plan's bitrate
 * (0.1 bit per pixel-frame) is above LiveKit's presets, which lean's loops send, so a 360p30
 * publisher is estimated at 90 packets/s where it sends about 46 on its 360p layer (measured) and
 * 30 (a packet a frame) on its 180p one; at 720p30, 300 where the presets' bitrates come to about
 * 180 + 46 + 30. A subscriber forwarded a lower layer is overestimated, on the safe side.
 */
export function packetRate(
  p: Pick<ParticipantPlan, "publishAudio" | "publishVideo" | "expectedTracks">,
  video: Pick<PublishedVideo, "fps" | "maxBitrate">,
): number {
  const perVideo = videoPacketRate(video);
  return (
    (p.publishAudio ? AUDIO_PACKETS_PER_S : 0) +
    (p.publishVideo ? perVideo : 0) +
    p.expectedTracks.audio * AUDIO_PACKETS_PER_S +
    p.expectedTracks.video * perVideo
  );
}

/**
 * Worker processes for a run: as many as its participants fill at what their engines' workers
 * carry (ENGINE_RULES: ~100 native participants, lean participants' packets up to 10,000 per
 * second), at most one per core. rtc-node gets cheaper per participant as rooms share a process,
 * but one process holds about 100 audio participants per core (docs/engine-costs.md rule 8);
 * `npm run bench` saw a single worker fall behind at 200 (bench/results.md). A lean worker's cost
 * follows packets, not heads (docs/engine-costs.md, lean rule 1).
 */
export function defaultWorkers(
  participants: readonly Pick<
    ParticipantPlan,
    "engine" | "publishAudio" | "publishVideo" | "expectedTracks"
  >[],
  cores: number,
  video: Pick<PublishedVideo, "fps" | "maxBitrate">,
): number {
  let processes = 0;
  for (const p of participants) {
    const carries = ENGINE_RULES[p.engine].workerCarries;
    processes +=
      "participants" in carries ? 1 / carries.participants : packetRate(p, video) / carries.packetsPerSecond;
  }
  // a sum of fractions drifts: 100 participants of 1/100 must make 1 process, not 2
  return Math.max(1, Math.min(cores, Math.ceil(processes - 1e-9)));
}

export type { MediaPlan };
