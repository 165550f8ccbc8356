/**
 * A worker process: owns the participants of its shard of rooms, on their engines (engine/engine.ts).
 * rtc-node runs one FFI server per process and fans every event out to every room in it, so rooms
 * are packed many to a process (cheaper per participant) and spread over a few processes (a core
 * each), never one per room.
 */
import { AccessToken } from "livekit-server-sdk";
import {
  ENGINE_ATTRIBUTE,
  leanPublishesVideo,
  type Engine,
  type EngineParticipant,
} from "../engine/engine.js";
import { LoadReport } from "./load-report.js";
import { saveScreenshots } from "./screenshots.js";
import type {
  EngineName,
  OrchestratorMessage,
  ParticipantEvent,
  ParticipantPlan,
  WindowSample,
  WorkerMessage,
  WorkerPlan,
} from "./messages.js";
import { RATCHET_SETTLE_MS, reportedAfterStop } from "./messages.js";

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function token(plan: WorkerPlan, p: ParticipantPlan): Promise<string> {
  const at = new AccessToken(plan.apiKey, plan.apiSecret, {
    identity: p.identity,
    ttl: plan.tokenTtlS,
    // a probe reads the pixel stamp as a capture time only from native publishers
    attributes: { [ENGINE_ATTRIBUTE]: p.engine },
  });
  at.addGrant({
    roomJoin: true,
    room: p.room,
    canPublish: p.publishAudio || p.publishVideo,
    canSubscribe: p.subscribe,
  });
  return at.toJwt();
}

/**
 * How each engine opens, one entry per name: a name added to EngineName without an entry here is a
 * type error, not a participant silently opened as lean (the ternary this replaces fell through).
 */
export type EngineOpeners = { readonly [E in EngineName]: (plan: WorkerPlan) => Promise<Engine> };
// each engine's modules load when a shard needs them, after the `start` message, with the worker's
// own load watched (LoadReport): a native worker no longer loads werift and puppeteer, and a worker
// starved while its engines load reports it (about 0.6 of a CPU-second of 0.9 to load them all)
const ENGINE_OPENERS: EngineOpeners = {
  native: async (plan) => (await import("../engine/native.js")).NativeEngine.open(plan.media, plan.e2eeKey),
  browser: async (plan) =>
    (await import("../engine/browser.js")).BrowserEngine.open(plan.media, plan.e2eeKey),
  lean: async (plan) =>
    (await import("../engine/lean.js")).LeanEngine.open(
      plan.url,
      leanPublishesVideo(plan.participants) ? plan.media.video : undefined,
      plan.media.watchMs,
      plan.media.data !== undefined,
    ),
};

/** Loads the engines this shard's participants run on, each once per process. */
async function openEngines(plan: WorkerPlan): Promise<ReadonlyMap<EngineName, Engine>> {
  const engines = new Map<EngineName, Engine>();
  for (const name of new Set(plan.participants.map((p) => p.engine)))
    engines.set(name, await ENGINE_OPENERS[name](plan));
  return engines;
}

class Worker {
  private readonly participants: EngineParticipant[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** The next key ratchet's timer: one at a time, so a run held for days keeps no list of them. */
  private ratchetTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private sampled: Promise<void> | undefined;

  constructor(
    private readonly engines: ReadonlyMap<EngineName, Engine>,
    private readonly plan: WorkerPlan,
  ) {}

  start(): void {
    for (const p of this.plan.participants) {
      const delay = Math.max(0, this.plan.startAtMs + p.joinAtMs - Date.now());
      this.timers.push(
        setTimeout(() => {
          void this.join(p);
        }, delay),
      );
    }
    this.timers.push(
      setInterval(() => {
        void this.sampleAll();
      }, this.plan.statsIntervalMs),
    );
    const ratchetEveryMs = this.plan.media.e2ee?.ratchetEveryMs;
    if (ratchetEveryMs !== undefined) this.scheduleRatchet(ratchetEveryMs, 1);
    const data = this.plan.media.data;
    if (data !== undefined) {
      this.timers.push(
        setInterval(() => {
          this.sendData();
        }, data.intervalMs),
      );
    }
  }

  /**
   * Ratchet `k` on the run's clock, not each worker's own: every worker's publishers of a room
   * ratchet at the same moment, so a subscriber's window never has to span two publishers' keys.
   * The first comes an interval after the last planned join: a participant joins with the original
   * key and follows one ratchet step per missed ratchet, so ratchets during a long ramp would leave
   * late joiners more steps behind than their window tries (a full rejoin during the hold can still
   * fall that far behind: docs/e2ee.md). None comes in the hold's last RATCHET_SETTLE_MS: whether
   * receivers followed it could not show before the run ends, and a receiver's cryptor that fails
   * for a moment on it would be read as failing for good.
   */
  private scheduleRatchet(everyMs: number, k: number): void {
    const holdStartMs = this.plan.startAtMs + (this.plan.rampMs ?? 0);
    const at = holdStartMs + k * everyMs;
    if (this.plan.holdMs !== undefined && at > holdStartMs + this.plan.holdMs - RATCHET_SETTLE_MS) return;
    this.ratchetTimer = setTimeout(
      () => {
        if (this.stopping) return;
        for (const participant of this.participants)
          if (participant.plan.publishAudio || participant.plan.publishVideo) participant.ratchetKey?.();
        this.scheduleRatchet(everyMs, k + 1);
      },
      Math.max(0, at - Date.now()),
    );
  }

  private async join(p: ParticipantPlan, attempt = 0): Promise<void> {
    if (this.stopping) return;
    const engine = this.engines.get(p.engine);
    if (engine === undefined) throw new Error(`worker ${this.plan.worker}: no ${p.engine} engine loaded`);
    const participant = engine.participant(p, (event) => {
      if (event.type === "disconnected") this.scheduleRejoin(p, participant, 0);
      this.report(p, this.stopping ? reportedAfterStop(event) : event);
    });
    this.participants.push(participant);
    const joined = await participant.join(this.plan.url, await token(this.plan, p));
    if (!joined) this.scheduleRejoin(p, participant, attempt + 1);
  }

  /**
   * With `rejoin` (the canary), a participant that was disconnected or could not join comes back
   * as a fresh one: 1 s after a disconnect, then backing off to 30 s while joins keep failing.
   */
  private scheduleRejoin(p: ParticipantPlan, gone: EngineParticipant, failures: number): void {
    if (this.plan.media.rejoin !== true || this.stopping) return;
    const index = this.participants.indexOf(gone);
    if (index >= 0) this.participants.splice(index, 1);
    const delayMs = Math.min(30_000, 1000 * 2 ** failures);
    this.timers.push(
      setTimeout(() => {
        void this.join(p, failures);
      }, delayMs),
    );
  }

  /** Tells the orchestrator what happened to one of this worker's participants. */
  private report(p: ParticipantPlan, event: ParticipantEvent): void {
    send({
      type: "event",
      t: Date.now(),
      worker: this.plan.worker,
      room: p.room,
      participant: p.identity,
      role: p.role,
      event,
    });
  }

  private sendData(): void {
    const payload = new TextEncoder().encode(JSON.stringify({ t: Date.now() }));
    for (const p of this.participants) {
      if (p.plan.role === "publisher") {
        void p.sendData(payload).catch((err: unknown) => {
          // workers.log: a failed send is counted by its absence from data_sent
          console.error(`data send failed for ${p.plan.identity}: ${String(err)}`);
        });
      }
    }
  }

  private async sampleAll(): Promise<void> {
    const samples: WindowSample[] = [];
    await Promise.all(
      this.participants.map(async (p) => {
        try {
          const s = await p.sample(this.plan.worker);
          if (s !== undefined) samples.push(s);
        } catch {
          // a participant mid-disconnect has no stats; its events tell what happened
        }
      }),
    );
    if (samples.length > 0) send({ type: "samples", samples });
  }

  /** Participants beyond the plan (late joiners), joining at once. */
  joinNow(participants: readonly ParticipantPlan[]): void {
    for (const p of participants) void this.join(p);
  }

  async simulate(chosen: readonly { room: string; identity: string }[], scenario: string): Promise<void> {
    const wanted = new Set(chosen.map((c) => `${c.room}/${c.identity}`));
    await Promise.all(
      this.participants
        .filter((p) => wanted.has(`${p.plan.room}/${p.plan.identity}`))
        .map((p) => p.simulate(scenario)),
    );
  }

  /** The drain's first phase: no more joins or periodic samples, then everyone's last window. */
  finalSample(): Promise<void> {
    if (this.sampled === undefined) {
      this.stopping = true;
      for (const t of this.timers) clearTimeout(t);
      clearTimeout(this.ratchetTimer);
      this.sampled = this.sampleAll();
    }
    return this.sampled;
  }

  async stop(): Promise<void> {
    // normally sampled already, while every worker's participants were still in (an orchestrator
    // that skipped the first phase still gets last samples, taken as this worker leaves)
    await this.finalSample();
    const screenshots = this.plan.media.screenshotsDir;
    if (screenshots !== undefined) await saveScreenshots(this.participants, screenshots);
    await Promise.all(this.participants.map((p) => p.leave()));
    await Promise.all([...this.engines.values()].map((e) => e.close()));
  }
}

let worker: Worker | undefined;
let loadReport: LoadReport | undefined;
/** The drain began (`sample` or `stop`): engines that finish loading after it start nobody. */
let ending = false;
/** Late joiners sent while the engines still loaded: they join once the worker starts. */
const joinsWaiting: ParticipantPlan[] = [];

process.on("message", (message: OrchestratorMessage) => {
  void (async () => {
    if (message.type === "start") {
      // its own load from now, while its engines load too: a worker starved before it starts says so
      loadReport = new LoadReport(message.plan.worker, message.plan.statsIntervalMs, send);
      const engines = await openEngines(message.plan);
      // loaded after the run ended: its participants stay never started (the orchestrator's
      // not_started), not joins begun during the drain and cut off as LiveKit's `run_ended`
      if (ending) return;
      worker = new Worker(engines, message.plan);
      // an engine with its own media thread (lean's native path) says how late it ran
      const threaded = [...engines.values()].find((e) => e.mediaTicks !== undefined);
      loadReport.ready(threaded?.mediaTicks?.bind(threaded));
      send({ type: "ready", worker: message.plan.worker });
      worker.start();
      if (joinsWaiting.length > 0) worker.joinNow(joinsWaiting.splice(0));
    } else if (message.type === "simulate") {
      await worker?.simulate(message.participants, message.scenario);
    } else if (message.type === "join") {
      if (worker === undefined) joinsWaiting.push(...message.participants);
      else worker.joinNow(message.participants);
    } else if (message.type === "sample") {
      ending = true;
      loadReport?.stop();
      await worker?.finalSample();
      send({ type: "sampled", worker: worker === undefined ? -1 : 0 });
    } else {
      ending = true;
      loadReport?.stop();
      await worker?.stop();
      send({ type: "done", worker: worker === undefined ? -1 : 0 });
      if (process.connected) process.disconnect();
      process.exit(0);
    }
  })();
});

// the orchestrator is gone (killed, or crashed): nobody is left to report to
process.on("disconnect", () => {
  process.exit(0);
});
// Ctrl-C reaches the whole process group; the orchestrator decides how to drain, not us
process.on("SIGINT", () => undefined);
