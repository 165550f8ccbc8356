import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  BROWSER_PER_PARTICIPANT,
  PageLayout,
  PageServer,
  participantsPerBrowser,
  wavFile,
  type PageE2ee,
  type PageLatency,
  type ParticipantPage,
} from "@livekit-swarm/browser";
import { TransportWatch, messageOf } from "@livekit-swarm/schema";
import { computeWindowDelta, emptySnapshot, fromWebrtcStats, type Snapshot } from "@livekit-swarm/stats";
import {
  NOT_STARTED,
  type MediaPlan,
  type ParticipantEvent,
  type ParticipantPlan,
  type WindowSample,
} from "../run/messages.js";
import {
  ENGINE_ATTRIBUTE,
  LEFT_BEFORE_JOINING,
  simulated,
  stampsCaptureTime,
  type Engine,
  type EngineParticipant,
  type EventSink,
} from "./engine.js";
import { watchedStreams } from "./browser-watch.js";
import { wrongKeyOf } from "./e2ee.js";
import { FirstMedia } from "./first-media.js";
import { AUDIO_SAMPLE_RATE, toneFrames, toneFrequency } from "./media.js";
import { FIRST_MEDIA_POLL_MS, FIRST_MEDIA_WINDOW_MS } from "./participant.js";
import { MediaWatch, PeerWatch } from "./watch.js";
import { windowSampleOf, windowStreams } from "./window.js";

/** Where the tone WAVs are kept: outside the repository, reused across runs (as lean's loops). */
export function toneCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "livekit-swarm", "browser");
}

/**
 * The WAV of publisher `publisherIndex`'s tone, one second (an integer frequency loops without a
 * seam, as Chromium loops the file): the native engine's tone, so a subscriber tells publishers
 * apart the same way. Written once per machine, atomically; a present file is reused.
 */
export async function toneWav(publisherIndex: number, cacheDir = toneCacheDir()): Promise<string> {
  const frequency = toneFrequency(publisherIndex);
  const file = join(cacheDir, `tone-${frequency}hz.wav`);
  if (
    await stat(file).then(
      (s) => s.size > 44,
      () => false,
    )
  )
    return file;
  await mkdir(cacheDir, { recursive: true });
  const frames = toneFrames(frequency);
  const samples = new Int16Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const f of frames) {
    samples.set(f, offset);
    offset += f.length;
  }
  // unique per call: two participants of one worker making the same tone at once (a fresh cache)
  // must not rename each other's file away (one failed its join with ENOENT)
  const partial = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(partial, wavFile(samples, AUDIO_SAMPLE_RATE));
  await rename(partial, file);
  return file;
}

/**
 * livekit-client in headless Chromium (@livekit-swarm/browser): one browser per participant, or
 * several participants per page or per browser as the plan's layout says (`--participants-per-page`,
 * `--pages-per-browser`; a page or browser never spans two workers). The page publishes Chromium's
 * fake microphone playing the tone WAV (in a shared browser, the tone made in the page) and the test
 * pattern drawn on a canvas, and reads received stamps; its getStats() entries go through the same
 * snapshot and delta code as the native engine's.
 */
export class BrowserEngine implements Engine {
  readonly name = "browser";

  private constructor(
    private readonly server: PageServer,
    private readonly layout: PageLayout,
    private readonly media: MediaPlan,
    /** The room's shared key when media.e2ee is set. */
    private readonly e2eeKey: Uint8Array | undefined,
  ) {}

  static async open(media: MediaPlan, e2eeKey?: Uint8Array): Promise<BrowserEngine> {
    if (media.e2ee !== undefined && e2eeKey === undefined)
      throw new Error("an E2EE media plan needs its key: the worker plan carries none");
    const server = await PageServer.start();
    return new BrowserEngine(
      server,
      new PageLayout(server, media.browserLayout ?? BROWSER_PER_PARTICIPANT, media.turnTls),
      media,
      e2eeKey,
    );
  }

  participant(plan: ParticipantPlan, emit: EventSink): EngineParticipant {
    const { e2ee } = this.media;
    const key = this.e2eeKey;
    return new BrowserParticipant(
      plan,
      emit,
      this.layout,
      this.media,
      e2ee === undefined || key === undefined
        ? undefined
        : {
            // the page derives it as rtc-node does (PBKDF2 over the bytes): one key for both engines
            key: [...(plan.wrongKey === true ? wrongKeyOf(key) : key)],
            failureTolerance: e2ee.failureTolerance,
            ratchetWindowSize: e2ee.ratchetWindowSize,
          },
    );
  }

  async close(): Promise<void> {
    await this.layout.close();
    await this.server.close();
  }
}

export class BrowserParticipant implements EngineParticipant {
  private page: ParticipantPage | undefined;
  private previous: Snapshot | undefined;
  private joinStartMs = 0;
  private left = false;
  /** Whether its join has been said to succeed or fail: one `joined` or `join-failed` each. */
  private joinSaid = false;
  /** Its page said it joined, and it has not been disconnected since. */
  private inRoom = false;
  private readonly firstMedia: FirstMedia;
  /** The candidate pair Chromium selected, from the candidate entries of the page's stats. */
  private readonly transport: TransportWatch;
  private fastPollDone = false;
  /** Stamps read by the page and fetched by a poll, not yet in a window. */
  private latencies: number[] = [];

  constructor(
    readonly plan: ParticipantPlan,
    private readonly emit: EventSink,
    private readonly layout: PageLayout,
    private readonly media: MediaPlan,
    private readonly e2ee?: PageE2ee,
  ) {
    // first frames from the stats' framesDecoded, as a non-probe (an upper bound by the poll)
    this.firstMedia = new FirstMedia(plan.expectedTracks, false, emit);
    this.transport = new TransportWatch(emit);
  }

  async join(url: string, token: string): Promise<boolean> {
    const { plan } = this;
    this.joinStartMs = Date.now();
    try {
      this.page = await this.layout.place({
        audioFile: await toneWav(Math.max(0, plan.publisherIndex)),
        serverUrl: url,
        onEvent: (event) => {
          this.onEvent(event);
        },
      });
    } catch (err) {
      const message = messageOf(err);
      this.onEvent({ type: "join-failed", reason: "browser", message });
      return false;
    }
    if (this.left) {
      await this.page.leave();
      return this.notStarted();
    }
    this.previous = emptySnapshot(this.joinStartMs);
    const joined = await this.page
      .join({
        url,
        token,
        publishAudio: plan.publishAudio,
        publishVideo: plan.publishVideo,
        publisherIndex: plan.publisherIndex,
        subscribe: plan.subscribe,
        probe: plan.probe,
        engineAttribute: ENGINE_ATTRIBUTE,
        video: this.media.video,
        // a browser has one fake microphone: where it hosts several participants, each publisher's
        // tone is made in its page, so publishers stay told apart by their tone as on other engines
        ...(participantsPerBrowser(this.layout.layout) > 1
          ? { toneHz: toneFrequency(Math.max(0, plan.publisherIndex)) }
          : {}),
        ...(this.e2ee !== undefined ? { e2ee: this.e2ee } : {}),
      })
      .catch((err: unknown) => {
        this.onEvent({
          type: "join-failed",
          reason: "browser",
          message: messageOf(err),
        });
        return false;
      });
    if (!joined) {
      await this.page.leave();
      return this.hasLeft() ? this.leftBeforeJoining() : false;
    }
    if (plan.expectedTracks.audio + plan.expectedTracks.video > 0) void this.timeFirstMedia();
    if (this.media.watchMs !== undefined) void this.watch(this.page, this.media.watchMs);
    return true;
  }

  /**
   * Ratchets the shared key it encrypts with (scenario `e2ee.ratchet-every`); the page tells it as
   * an `e2ee` event. Not yet in the room (its Chromium still starting, its join under way), it skips
   * the ratchet as a native participant does: it joins with the room's original key.
   */
  ratchetKey(): void {
    if (this.e2ee === undefined || this.page === undefined || !this.inRoom || this.hasLeft()) return;
    void this.page.ratchetKey().then(
      (done) => {
        if (!done) this.emit({ type: "e2ee", from: this.plan.identity, state: "unobservable" });
      },
      () => {
        this.emit({ type: "e2ee", from: this.plan.identity, state: "internal_error" });
      },
    );
  }

  /**
   * Watch mode (chaos drills): every `intervalMs`, one look at the page's subscribed tracks'
   * packet counts (MediaWatch, as the other engines') and at the peers it sees, those only while
   * livekit-client says connected (a full reconnect unwinds every remote participant first). A look
   * the page does not answer within four intervals counts every track idle, as a native engine's
   * stats timeout does.
   */
  private async watch(page: ParticipantPage, intervalMs: number): Promise<void> {
    const media = new MediaWatch(this.emit);
    const peers = new PeerWatch(this.emit);
    while (!this.hasLeft()) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (this.hasLeft()) return;
      const now = Date.now();
      const look = await Promise.race([
        page.look().catch(() => undefined),
        new Promise<undefined>((resolve) =>
          setTimeout(() => {
            resolve(undefined);
          }, intervalMs * 4),
        ),
      ]);
      if (this.hasLeft()) return;
      if (look?.connected === true) peers.look(look.peers);
      media.look(look === undefined ? undefined : watchedStreams(look.streams), now);
    }
  }

  /** A method, not the field: it changes while a loop awaits. */
  private hasLeft(): boolean {
    return this.left;
  }

  /**
   * Left while it was joining (told to by the run's end, or its page gone): said as a join that
   * failed with `left`, as lean says it, unless the page said how the join ended first (its events
   * stop once it leaves, so the join would otherwise end in silence). The worker counts it as
   * `run_ended` when it is stopping.
   */
  private leftBeforeJoining(): false {
    if (!this.joinSaid) this.onEvent(LEFT_BEFORE_JOINING);
    return false;
  }

  private onEvent(event: ParticipantEvent): void {
    if (event.type === "joined" || event.type === "join-failed") this.joinSaid = true;
    if (event.type === "disconnected") this.left = true;
    if (event.type === "joined") this.inRoom = true;
    if (event.type === "disconnected") this.inRoom = false;
    if (event.type === "joined") this.joinStartMs = Date.now() - event.joinS * 1000;
    // a reconnect selects a pair anew: the next sample tells it
    if (event.type === "reconnected") this.transport.reselect();
    this.emit(event);
  }

  /** The page's stats as a snapshot; its latency readings are kept for the next window. */
  private async look(): Promise<Snapshot | undefined> {
    const page = this.page;
    if (page === undefined || this.left) return undefined;
    const { stats, latencies } = await page.sample();
    this.latencies.push(...stamped(latencies));
    const snapshot = fromWebrtcStats(stats, Date.now());
    this.transport.note(snapshot.selectedPair);
    return snapshot;
  }

  /** As the native engine: polls stats briefly after joining to time each stream's first packet and frame. */
  private async timeFirstMedia(): Promise<void> {
    try {
      const deadline = this.joinStartMs + FIRST_MEDIA_WINDOW_MS;
      while (!this.left && Date.now() < deadline && !this.firstMedia.complete) {
        await new Promise((resolve) => setTimeout(resolve, FIRST_MEDIA_POLL_MS));
        const snapshot = await this.look().catch(() => undefined);
        if (snapshot === undefined) continue;
        const afterJoinStartS = (snapshot.timestampMs - this.joinStartMs) / 1000;
        for (const stream of snapshot.inbound) this.firstMedia.seen(stream, afterJoinStartS);
      }
    } finally {
      this.fastPollDone = true;
    }
  }

  async sample(worker: number): Promise<WindowSample | undefined> {
    const previous = this.previous;
    if (previous === undefined || this.left) return undefined;
    const current = await this.look();
    if (current === undefined) return undefined;
    const delta = computeWindowDelta(previous, current);
    this.previous = current;
    if (this.fastPollDone) {
      const afterJoinStartS = (delta.endMs - this.joinStartMs) / 1000;
      for (const c of current.inbound) this.firstMedia.seen(c, afterJoinStartS, true);
    }
    // Chromium fills totalFreezesDuration (rtc-node does not): the browser's freezes, as it counts them
    const streams = windowStreams(delta, new Map(), true);
    const sample = windowSampleOf(
      this.plan,
      worker,
      delta,
      streams,
      { sent: 0, received: 0 },
      this.latencies.splice(0),
    );
    const transport = this.transport.current();
    return transport === undefined ? sample : { ...sample, transport };
  }

  sendData(): Promise<void> {
    // refused at planning (ENGINE_RULES.browser.data): never called
    return Promise.resolve();
  }

  /** A client.simulate fault, acted out by livekit-client's Room.simulateScenario in the page. */
  async simulate(scenario: string): Promise<void> {
    const page = this.page;
    // puppeteer carries the page's error message in its own
    await simulated(
      "browser",
      scenario,
      async (s) => {
        if (page === undefined || this.hasLeft()) throw new Error("not connected");
        await page.simulate(s);
      },
      this.emit,
    );
  }

  async leave(): Promise<void> {
    this.left = true;
    // still waiting for its browser: said now, as the place it waits for may outlast the worker
    if (this.page === undefined) this.notStarted();
    await this.page?.leave();
  }

  /** Left before it had a page to join from: it never reached LiveKit (the generator's failure). */
  private notStarted(): false {
    if (!this.joinSaid)
      this.onEvent({
        type: "join-failed",
        reason: NOT_STARTED,
        message:
          "the run ended while it waited for its browser (Chromium starts one after another): it never reached LiveKit",
      });
    return false;
  }

  /** Where the layout placed it (tests check who shares a page or a browser). */
  get placedIn(): ParticipantPage | undefined {
    return this.page;
  }

  /** The page as it looks now (`--screenshots`, tests). */
  async screenshot(path: `${string}.png`): Promise<void> {
    await this.page?.screenshot(path);
  }
}

/** Latencies from publishers whose stamp is a capture time (not lean's loop positions). */
function stamped(latencies: readonly PageLatency[]): number[] {
  return latencies
    .filter((l) => stampsCaptureTime({ [ENGINE_ATTRIBUTE]: l.publisherEngine ?? "" }))
    .map((l) => l.latencyS);
}
