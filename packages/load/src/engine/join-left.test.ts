/**
 * A leave while a join is under way (the run's end overtaking a slow join): each engine says the
 * join failed once, with `left`, whatever the join does after. The SDKs are stand-ins here: what
 * is tested is the engines' bookkeeping; a real LiveKit run of it is in
 * packages/cli/test/client-networks.e2e.test.ts (a signalling-only path).
 */
import { LeanParticipant } from "@livekit-swarm/lean";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PageLayout, ParticipantPage } from "@livekit-swarm/browser";
import type { MediaPlan, ParticipantEvent, ParticipantPlan } from "../run/messages.js";
import { BrowserParticipant } from "./browser.js";
import { LeanEngineParticipant, type Media } from "./lean.js";
import { NativeParticipant } from "./participant.js";

const plan: ParticipantPlan = {
  engine: "lean",
  room: "r",
  identity: "sub-1",
  role: "subscriber",
  joinAtMs: 0,
  publishAudio: false,
  publishVideo: false,
  publisherIndex: -1,
  subscribe: true,
  probe: false,
  expectedTracks: { audio: 1, video: 0 },
};

const LEFT = { type: "join-failed", reason: "left", message: "it left before it joined" };

/** A promise and the hands that settle it. */
function pending<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("lean: a leave while the join is under way", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A lean participant whose LeanParticipant.join is held: `say` speaks as the join would. */
  function held(): {
    events: ParticipantEvent[];
    participant: LeanEngineParticipant;
    join: ReturnType<typeof pending<LeanParticipant>>;
    say(event: ParticipantEvent): void;
  } {
    const join = pending<LeanParticipant>();
    let onEvent: (event: ParticipantEvent) => void = () => undefined;
    vi.spyOn(LeanParticipant, "join").mockImplementation((options) => {
      onEvent = options.onEvent as (event: ParticipantEvent) => void;
      return join.promise;
    });
    const events: ParticipantEvent[] = [];
    const participant = new LeanEngineParticipant(plan, (e) => events.push(e), {} as Media, undefined);
    return {
      events,
      participant,
      join,
      say: (e) => {
        onEvent(e);
      },
    };
  }

  it("says the join failed with `left` once; the join's own failure after is not told", async () => {
    const h = held();
    const joining = h.participant.join("ws://127.0.0.1:7880", "t");
    await h.participant.leave();
    expect(h.events).toEqual([LEFT]);
    h.say({ type: "join-failed", reason: "timeout", message: "no answer" });
    h.join.reject(new Error("timeout"));
    expect(await joining).toBe(false);
    await h.participant.leave();
    expect(h.events).toEqual([LEFT]);
  });

  it("a join that ends after the leave is not told as joined, and leaves at once", async () => {
    const h = held();
    const joining = h.participant.join("ws://127.0.0.1:7880", "t");
    await h.participant.leave();
    const leave = vi.fn(() => Promise.resolve());
    h.say({ type: "joined", joinS: 9 });
    h.join.resolve({ leave } as unknown as LeanParticipant);
    expect(await joining).toBe(false);
    expect(leave).toHaveBeenCalledTimes(1);
    expect(h.events).toEqual([LEFT]);
  });

  it("a join that failed before the leave is counted once: the leave adds nothing", async () => {
    const h = held();
    const joining = h.participant.join("ws://127.0.0.1:7880", "t");
    h.say({ type: "join-failed", reason: "timeout", message: "no answer" });
    h.join.reject(new Error("timeout"));
    expect(await joining).toBe(false);
    await h.participant.leave();
    expect(h.events).toEqual([{ type: "join-failed", reason: "timeout", message: "no answer" }]);
  });

  it("a leave after the join said it failed, before it returned, adds nothing", async () => {
    // lean says join-failed, then leaves the failed session, then throws: the run's end can come
    // in between (capacity at 60 rooms against LiveKit capped at 0.1 core: 5 of 22 told twice)
    const h = held();
    const joining = h.participant.join("ws://127.0.0.1:7880", "t");
    h.say({ type: "join-failed", reason: "timeout", message: "no answer" });
    await h.participant.leave();
    h.join.reject(new Error("timeout"));
    expect(await joining).toBe(false);
    expect(h.events).toEqual([{ type: "join-failed", reason: "timeout", message: "no answer" }]);
  });

  it("a leave after the join said it joined, before it returned, is a leave, not a failure", async () => {
    const h = held();
    const joining = h.participant.join("ws://127.0.0.1:7880", "t");
    h.say({ type: "joined", joinS: 0.2 });
    await h.participant.leave();
    const leave = vi.fn(() => Promise.resolve());
    h.join.resolve({ leave } as unknown as LeanParticipant);
    expect(await joining).toBe(false);
    expect(leave).toHaveBeenCalledTimes(1);
    expect(h.events).toEqual([{ type: "joined", joinS: 0.2 }]);
  });

  it("a participant never asked to join says nothing when it leaves", async () => {
    const h = held();
    await h.participant.leave();
    expect(h.events).toEqual([]);
  });
});

describe("native: a leave while rtc-node's connect is under way", () => {
  /** rtc-node's Room as far as a join and a leave use it: connect is held until settled. */
  function rtcWithHeldConnect(): {
    rtc: ConstructorParameters<typeof NativeParticipant>[0];
    connect: ReturnType<typeof pending<undefined>>;
    disconnects: () => number;
  } {
    const connect = pending<undefined>();
    let disconnects = 0;
    class Room {
      remoteParticipants = new Map();
      on(): this {
        return this;
      }
      connect(): Promise<undefined> {
        return connect.promise;
      }
      disconnect(): Promise<void> {
        disconnects++;
        return Promise.resolve();
      }
    }
    const names = new Proxy({}, { get: (_, key) => String(key) });
    const rtc = {
      Room,
      RoomEvent: names,
      ConnectionQuality: names,
      DisconnectReason: names,
      TrackKind: names,
    };
    return {
      rtc: rtc as unknown as ConstructorParameters<typeof NativeParticipant>[0],
      connect,
      disconnects: () => disconnects,
    };
  }

  function participant(rtc: ConstructorParameters<typeof NativeParticipant>[0], events: ParticipantEvent[]) {
    return new NativeParticipant(
      rtc,
      { ...plan, engine: "native" },
      (e) => events.push(e),
      () => Promise.resolve(),
      undefined,
    );
  }

  it("says the join failed with `left` once and cancels the connect; its rejection after is not told", async () => {
    const { rtc, connect, disconnects } = rtcWithHeldConnect();
    const events: ParticipantEvent[] = [];
    const p = participant(rtc, events);
    const joining = p.join("ws://127.0.0.1:7880", "t");
    await p.leave();
    expect(events).toEqual([LEFT]);
    expect(disconnects()).toBe(1);
    connect.reject(new Error("engine: signal failure: cancelled"));
    expect(await joining).toBe(false);
    await p.leave();
    expect(events).toEqual([LEFT]);
  });

  it("a connect that succeeds after the leave is not told as joined, and disconnects", async () => {
    const { rtc, connect, disconnects } = rtcWithHeldConnect();
    const events: ParticipantEvent[] = [];
    const p = participant(rtc, events);
    const joining = p.join("ws://127.0.0.1:7880", "t");
    await p.leave();
    connect.resolve(undefined);
    expect(await joining).toBe(false);
    expect(disconnects()).toBe(2);
    expect(events).toEqual([LEFT]);
  });

  it("a connect that failed before the leave is counted once: the leave adds nothing", async () => {
    const { rtc, connect } = rtcWithHeldConnect();
    const events: ParticipantEvent[] = [];
    const p = participant(rtc, events);
    const joining = p.join("ws://127.0.0.1:7880", "t");
    connect.reject(new Error("engine: failed to connect: connection refused"));
    expect(await joining).toBe(false);
    await p.leave();
    expect(events.map((e) => e.type)).toEqual(["join-failed"]);
    expect(events[0]).toMatchObject({ reason: "unreachable" });
  });
});

describe("browser: a leave while it waits for its browser", () => {
  const NOT_STARTED = {
    type: "join-failed",
    reason: "not_started",
    message:
      "the run ended while it waited for its browser (Chromium starts one after another): it never reached LiveKit",
  };

  it("says it never started, once, before its page comes, and leaves the page that comes after", async () => {
    const placing = pending<ParticipantPage>();
    const layout = { place: () => placing.promise } as unknown as PageLayout;
    const events: ParticipantEvent[] = [];
    const participant = new BrowserParticipant(
      { ...plan, engine: "browser" },
      (e) => events.push(e),
      layout,
      {} as MediaPlan,
    );
    const joining = participant.join("ws://127.0.0.1:7880", "t");
    await participant.leave();
    expect(events).toEqual([NOT_STARTED]);
    const leave = vi.fn(() => Promise.resolve());
    placing.resolve({ leave } as unknown as ParticipantPage);
    expect(await joining).toBe(false);
    expect(leave).toHaveBeenCalledTimes(1);
    expect(events).toEqual([NOT_STARTED]);
  });
});
