import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { Message, classes, methods, parseMessage } from "werift";
import { afterAll, describe, expect, it } from "vitest";
import { bindingSuccess } from "./binding.js";
import {
  BUSY_RETRY_MS,
  CONSENT_INTERVAL_MS,
  CONSENT_TICK_MS,
  CONSENT_TIMEOUT_MS,
  ConsentClock,
  PRFLX_UDP_PRIORITY,
  consentAnswered,
  consentRequest,
  dropRetransmittedCheckRtt,
  type ConsentConnection,
  type ConsentCount,
  type ConsentDeps,
} from "./consent.js";
import type { ConsentTally, ConsentThread } from "./native-consent.js";

const ID = Buffer.from("0123456789ab");
const TIE = 0x1234_5678_9abc_def0n;

describe("a consent request", () => {
  it("is the request werift builds, byte for byte (USERNAME, PRIORITY, role, MESSAGE-INTEGRITY, FINGERPRINT)", () => {
    for (const controlling of [true, false])
      for (const username of ["rUfr:lUfr", "remote-ufrag-of-odd-length:local1"]) {
        const ours = consentRequest(ID, username, PRFLX_UDP_PRIORITY, controlling, TIE, "remote-password");
        const werift = new Message(methods.BINDING, classes.REQUEST, ID)
          .setAttribute("USERNAME", username)
          .setAttribute("PRIORITY", PRFLX_UDP_PRIORITY)
          .setAttribute(controlling ? "ICE-CONTROLLING" : "ICE-CONTROLLED", TIE)
          .addMessageIntegrity(Buffer.from("remote-password"))
          .addFingerprint();
        expect(ours.toString("hex"), `${username} controlling=${controlling}`).toBe(
          werift.bytes.toString("hex"),
        );
        // and werift's parser takes it with the password (integrity and fingerprint checked)
        expect(parseMessage(ours, Buffer.from("remote-password"))?.getAttributeValue("USERNAME")).toBe(
          username,
        );
        expect(parseMessage(ours, Buffer.from("another-password"))).toBeUndefined();
      }
  });

  it("the answer is taken for the last request's transaction id and the remote password only", () => {
    const answer = bindingSuccess({ transactionId: ID }, "127.0.0.1", 40000, "remote-password");
    expect(consentAnswered(answer, ID, "remote-password")).toBe(true);
    expect(consentAnswered(answer, Buffer.from("another-id-0"), "remote-password")).toBe(false);
    expect(consentAnswered(answer, ID, "another-password")).toBe(false);
    expect(consentAnswered(answer.subarray(0, 40), ID, "remote-password")).toBe(false);
    const request = consentRequest(ID, "a:b", 1, true, TIE, "remote-password");
    expect(consentAnswered(request, ID, "remote-password")).toBe(false);
    const tampered = Buffer.from(answer);
    tampered[27] = (tampered[27] ?? 0) ^ 1; // the mapped port
    expect(consentAnswered(tampered, ID, "remote-password")).toBe(false);
  });
});

const sockets: Socket[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
});

/** A werift-like connection on a UDP socket with werift's one message listener, and a clock whose time the test moves. */
function rig(
  options: { sendTakesMs?: number; thread?: (socket: Socket) => ConsentThread | undefined } = {},
): {
  clock: ConsentClock;
  connection: ConsentConnection & { states: string[]; stops: number };
  count: ConsentCount;
  sent: Buffer[];
  advance(ms: number): void;
  /** The event loop runs JavaScript for `ms` (the clock moves too, no tick). */
  busy(ms: number): void;
  /** The event loop waits idle for `ms` (no tick). */
  idle(ms: number): void;
  deliver(data: Buffer, from?: Partial<RemoteInfo>): void;
  toWerift: Buffer[];
} {
  let now = 1000;
  let busyMs = 0;
  let tick: (() => void) | undefined;
  const sent: Buffer[] = [];
  const deps: ConsentDeps = {
    now: () => now,
    random: () => 0.5,
    every: (fn, ms) => {
      expect(ms).toBe(CONSENT_TICK_MS);
      tick = fn;
      return {
        cancel: () => {
          tick = undefined;
        },
      };
    },
    send: (_socket, data, port, address) => {
      expect([address, port]).toEqual(["127.0.0.1", 7882]);
      sent.push(data);
      // a send that returns after its datagram is on the wire (the native path's sendto)
      now += options.sendTakesMs ?? 0;
    },
    loopMark: () => busyMs,
    loopBusyMs: (since) => busyMs - (since as number),
    ...(options.thread === undefined ? {} : { thread: options.thread }),
  };
  const socket = createSocket("udp4");
  sockets.push(socket);
  const toWerift: Buffer[] = [];
  socket.on("message", (data: Buffer) => toWerift.push(data));
  const states: string[] = [];
  const connection = {
    iceLite: false,
    iceControlling: false,
    localUsername: "lUfr",
    remoteUsername: "rUfr",
    remotePassword: "remote-password",
    tieBreaker: TIE,
    state: "connected",
    nominated: {
      remoteAddr: ["127.0.0.1", 7882] as const,
      protocol: { transport: { socket } },
      consentRequestsSent: 0,
      requestsSent: 0,
      responsesReceived: 0,
      totalRoundTripTime: 0,
      roundTripTimeMeasurements: 0,
    },
    consentFresh: false,
    consentSessionId: 0,
    queryConsent: () => undefined,
    stops: 0,
    stopConsentLifecycle() {
      this.stops++;
      this.consentSessionId++;
      this.consentFresh = false;
    },
    states,
    setState(state: string) {
      this.state = state;
      states.push(state);
    },
  };
  const count: ConsentCount = { requests: 0, answers: 0, expired: 0, onWerift: 0 };
  return {
    clock: new ConsentClock(deps),
    connection,
    count,
    sent,
    toWerift,
    advance(ms) {
      for (let t = 0; t < ms; t += CONSENT_TICK_MS) {
        now += CONSENT_TICK_MS;
        tick?.();
      }
    },
    busy(ms) {
      now += ms;
      busyMs += ms;
    },
    idle(ms) {
      now += ms;
    },
    deliver(data, from = {}) {
      socket.emit("message", data, {
        address: "127.0.0.1",
        port: 7882,
        family: "IPv4",
        size: data.length,
        ...from,
      });
    },
  };
}

const answerTo = (request: Buffer | undefined, password = "remote-password"): Buffer =>
  bindingSuccess(
    { transactionId: (request ?? Buffer.alloc(20)).subarray(8, 20) },
    "127.0.0.1",
    40000,
    password,
  );

describe("consent on one clock", () => {
  it("starts as werift's queryConsent does (ends what ran, fresh), checks at the next tick, then every 4-6 s", () => {
    const r = rig();
    expect(r.clock.start(r.connection, r.count)).toBe(true);
    expect(r.connection.stops).toBe(1);
    expect(r.connection.consentFresh).toBe(true);
    expect(r.sent.length).toBe(0);
    r.advance(CONSENT_TICK_MS);
    expect(r.sent.length).toBe(1);
    r.deliver(answerTo(r.sent.at(-1)));
    r.advance(CONSENT_INTERVAL_MS * 0.8 - CONSENT_TICK_MS);
    expect(r.sent.length).toBe(1);
    r.advance(CONSENT_INTERVAL_MS * 0.4);
    expect(r.sent.length).toBe(2);
    const request = parseMessage(r.sent[0] ?? Buffer.alloc(0), Buffer.from("remote-password"));
    expect(request?.getAttributeValue("USERNAME")).toBe("rUfr:lUfr");
    expect(request?.getAttributeValue("ICE-CONTROLLED")).toBe(TIE);
    expect(r.count.requests).toBe(2);
    expect(r.connection.nominated?.consentRequestsSent).toBe(2);
  });

  it("an answer keeps consent fresh past 30 s; the answer never reaches werift", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    for (let i = 0; i < 20; i++) {
      r.advance(CONSENT_INTERVAL_MS);
      r.deliver(answerTo(r.sent.at(-1)));
    }
    expect(r.count.answers).toBe(20);
    expect(r.count.expired).toBe(0);
    expect(r.connection.states).toEqual([]);
    expect(r.connection.consentFresh).toBe(true);
    expect(r.toWerift).toEqual([]);
    expect(r.connection.nominated?.responsesReceived).toBe(20);
  });

  it("measures each answer's round trip from its request's send (the pair's rtt, as werift's loop sets it)", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    const pair = r.connection.nominated;
    for (const waitMs of [750, 0, 2500]) {
      const before = r.sent.length;
      while (r.sent.length === before) r.advance(CONSENT_TICK_MS);
      r.advance(waitMs);
      r.deliver(answerTo(r.sent.at(-1)));
      expect(pair?.rtt).toBe(waitMs / 1000);
    }
    expect(pair?.roundTripTimeMeasurements).toBe(3);
    expect(pair?.totalRoundTripTime).toBeCloseTo(3.25, 9);
    // an answer to no outstanding request (a duplicate) measures nothing
    r.advance(1000);
    r.deliver(answerTo(r.sent.at(-1)));
    expect(pair?.rtt).toBe(2.5);
  });

  it("times a check from before its send: a send that returns 3 ms after its datagram left is in the round trip", () => {
    const r = rig({ sendTakesMs: 3 });
    r.clock.start(r.connection, r.count);
    while (r.sent.length === 0) r.advance(CONSENT_TICK_MS);
    r.idle(7);
    r.deliver(answerTo(r.sent.at(-1)));
    expect(r.connection.nominated?.rtt).toBe(0.01);
  });

  it("drops werift's join-time round trip (timed in JavaScript, the loop at its busiest) and measures again from consent at once", () => {
    for (const werift of [
      { rtt: 0.072, retransmissionsSent: 0 },
      // a check whose first request went unanswered, timed from its first send: 50 ms (Karn)
      { rtt: 0.051, retransmissionsSent: 1 },
    ]) {
      const r = rig();
      const pair = r.connection.nominated;
      if (pair === undefined) throw new Error("no pair");
      Object.assign(pair, werift);
      r.clock.start(r.connection, r.count);
      expect(pair.rtt).toBeUndefined();
      r.advance(CONSENT_TICK_MS);
      r.idle(1);
      r.deliver(answerTo(r.sent.at(-1)));
      expect(pair.rtt).toBe(0.001);
      expect(dropRetransmittedCheckRtt({ ...pair, rtt: undefined })).toBe(false);
      expect(dropRetransmittedCheckRtt({ ...pair, rtt: 0.2, retransmissionsSent: 3 })).toBe(true);
    }
  });

  it("an answer that waited on a busy loop measures nothing (counted), one within the bound reads its span", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    const pair = r.connection.nominated;
    if (pair === undefined) throw new Error("no pair");
    // the joins' JavaScript runs 70 ms after the send; the wire took 2 ms of it (idle 2, busy 70)
    r.advance(CONSENT_TICK_MS);
    r.idle(2);
    r.busy(70);
    r.deliver(answerTo(r.sent.at(-1)));
    expect(pair.rtt).toBeUndefined();
    expect(r.count.busy).toBe(1);
    expect(r.count.answers).toBe(1);
    expect(r.connection.consentFresh).toBe(true);
    // no round trip yet: checked again within a second, not 4-6 s
    const before = r.sent.length;
    r.advance(BUSY_RETRY_MS);
    expect(r.sent.length).toBe(before + 1);
    // 0.4 ms busy is within the bound: 3 ms idle + 0.4 busy reads 3.4 ms
    r.idle(3);
    r.busy(0.4);
    r.deliver(answerTo(r.sent.at(-1)));
    expect(pair.rtt).toBeCloseTo(0.0034, 9);
    // 3.5 ms busy over 3 ms idle is not (kept: 3.4)
    while (r.sent.length === before + 1) r.advance(CONSENT_TICK_MS);
    r.idle(3);
    r.busy(3.5);
    r.deliver(answerTo(r.sent.at(-1)));
    expect(pair.rtt).toBeCloseTo(0.0034, 9);
    // a long round trip the loop was busy for under a quarter of is reported (100 idle, 30 busy:
    // 130), one it was busy for more of is not (40 idle, 60 busy: kept 130)
    for (const [idle, busy] of [
      [100, 30],
      [40, 60],
    ] as const) {
      const n = r.sent.length;
      while (r.sent.length === n) r.advance(CONSENT_TICK_MS);
      r.idle(idle);
      r.busy(busy);
      r.deliver(answerTo(r.sent.at(-1)));
      expect(pair.rtt).toBeCloseTo(0.13, 9);
    }
    expect(r.count.busy).toBe(3);
    expect(pair.roundTripTimeMeasurements).toBe(2);
  });

  it("30 s without an answer expires consent as werift does: not fresh, the connection failed, no more requests", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TIMEOUT_MS - CONSENT_TICK_MS);
    expect(r.connection.states).toEqual([]);
    expect(r.sent.length).toBeGreaterThanOrEqual(5);
    r.advance(2 * CONSENT_TICK_MS);
    const requests = r.sent.length;
    expect(r.connection.states).toEqual(["failed"]);
    expect(r.connection.consentFresh).toBe(false);
    expect(r.count.expired).toBe(1);
    r.advance(CONSENT_TIMEOUT_MS);
    expect(r.sent.length).toBe(requests);
    expect(r.clock.size).toBe(0);
  });

  it("takes no answer to another request, from another address, or signed with another password: werift gets it", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_INTERVAL_MS * 1.2);
    const first = r.sent.at(-1);
    r.advance(CONSENT_INTERVAL_MS * 1.2);
    const stale = answerTo(first);
    const wrongPassword = answerTo(r.sent.at(-1), "another-password");
    const right = answerTo(r.sent.at(-1));
    r.deliver(stale);
    r.deliver(wrongPassword);
    r.deliver(right, { port: 7883 });
    expect(r.count.answers).toBe(0);
    expect(r.toWerift.length).toBe(3);
    r.deliver(right);
    expect(r.count.answers).toBe(1);
    // twice is once: the request is answered
    r.deliver(right);
    expect(r.count.answers).toBe(1);
  });

  it("ends when werift ends it (stopConsentLifecycle: close, ICE restart) or the connection closes, without expiring", () => {
    const r = rig();
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_INTERVAL_MS * 1.2);
    r.connection.stopConsentLifecycle();
    const requests = r.sent.length;
    r.advance(CONSENT_TIMEOUT_MS * 2);
    expect(r.sent.length).toBe(requests);
    expect(r.count.expired).toBe(0);
    expect(r.connection.states).toEqual([]);
    expect(r.clock.size).toBe(0);

    const closing = rig();
    closing.clock.start(closing.connection, closing.count);
    closing.connection.setState("closed");
    closing.advance(CONSENT_TIMEOUT_MS * 2);
    expect(closing.sent.length).toBe(0);
    expect(closing.count.expired).toBe(0);
  });

  it("leaves to werift a pair it does not write: no pair, a remote ICE-lite agent, IPv6, not a UDP socket", () => {
    const r = rig();
    const pair = r.connection.nominated;
    if (pair === undefined) throw new Error("no pair");
    const cases: ConsentConnection[] = [
      { ...r.connection, nominated: undefined },
      { ...r.connection, remoteIsLite: true },
      { ...r.connection, nominated: { ...pair, remoteAddr: ["::1", 7882] } },
      { ...r.connection, nominated: { ...pair, protocol: { transport: { socket: {} } } } },
    ];
    for (const c of cases) expect(r.clock.start(c, r.count)).toBe(false);
    expect(r.clock.size).toBe(0);
  });
});

/** A native thread's consent checks as a test drives them: it sends and takes what the test says. */
class FakeThread implements ConsentThread {
  live = true;
  started: { request: Buffer; password: string; remote: readonly [string, number]; firstAt: number }[] = [];
  stops = 0;
  refuse: string | undefined;
  tally: ConsentTally = { requests: 0, answers: 0, answeredAt: 0, rttMs: 0, rttSumMs: 0 };

  start(
    request: Buffer,
    password: string,
    remote: readonly [string, number],
    firstAt: number,
  ): string | undefined {
    if (this.refuse !== undefined) return this.refuse;
    this.started.push({ request, password, remote, firstAt });
    this.tally = { requests: 0, answers: 0, answeredAt: 0, rttMs: 0, rttSumMs: 0 };
    return undefined;
  }

  /** The thread's calls in their order: "read" and "stop". */
  calls: string[] = [];

  read(): ConsentTally {
    this.calls.push("read");
    return this.tally;
  }

  stop(): void {
    this.stops++;
    this.calls.push("stop");
  }

  sent(): void {
    this.tally = { ...this.tally, requests: this.tally.requests + 1 };
  }

  answered(at: number, rttMs: number): void {
    const t = this.tally;
    this.tally = { ...t, answers: t.answers + 1, answeredAt: at, rttMs, rttSumMs: t.rttSumMs + rttMs };
  }
}

describe("consent handed to the native thread", () => {
  it("hands the checks over once the thread reads the socket: consent.ts's request, the pair's remote and password, its next check; then sends none itself", () => {
    let reading = false;
    const thread = new FakeThread();
    const r = rig({ thread: () => (reading ? thread : undefined) });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    expect(r.sent.length, "checked here while the thread does not read the socket").toBe(1);
    r.deliver(answerTo(r.sent.at(-1)));
    reading = true;
    r.advance(CONSENT_TICK_MS);
    expect(thread.started).toHaveLength(1);
    const given = thread.started[0];
    expect(given?.password).toBe("remote-password");
    expect(given?.remote).toEqual(["127.0.0.1", 7882]);
    // this clock's next check, 5 s (random 0.5) after its first
    expect(given?.firstAt).toBe(1000 + CONSENT_TICK_MS + CONSENT_INTERVAL_MS);
    const request = parseMessage(given?.request ?? Buffer.alloc(0), Buffer.from("remote-password"));
    expect(request?.getAttributeValue("USERNAME")).toBe("rUfr:lUfr");
    expect(request?.getAttributeValue("ICE-CONTROLLED")).toBe(TIE);
    expect(request?.getAttributeValue("PRIORITY")).toBe(PRFLX_UDP_PRIORITY);
    r.advance(CONSENT_TIMEOUT_MS / 2);
    expect(r.sent.length, "none sent here once handed over").toBe(1);
    expect(thread.started, "handed over once").toHaveLength(1);
  });

  it("folds what the thread sent and took into the pair's counts, its round trips and consent's freshness; 30 s after its last answer consent expires and the thread is stopped", () => {
    const thread = new FakeThread();
    const r = rig({ thread: () => thread });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    expect(r.sent.length).toBe(0);
    const pair = r.connection.nominated;
    let now = 1000 + CONSENT_TICK_MS;
    // 12 checks, 5 s apart, each answered after 0.25-3 ms: consent stays fresh for a minute
    let sum = 0;
    for (let i = 0; i < 12; i++) {
      thread.sent();
      const rtt = 0.25 * (i + 1);
      sum += rtt;
      thread.answered(now + rtt, rtt);
      r.advance(CONSENT_INTERVAL_MS);
      now += CONSENT_INTERVAL_MS;
      expect(pair?.rtt).toBe(rtt / 1000);
    }
    expect(r.count).toMatchObject({ requests: 12, answers: 12, expired: 0 });
    expect(pair).toMatchObject({ consentRequestsSent: 12, requestsSent: 12, responsesReceived: 12 });
    expect(pair?.roundTripTimeMeasurements).toBe(12);
    expect(pair?.totalRoundTripTime).toBeCloseTo(sum / 1000, 12);
    expect(r.connection.consentFresh).toBe(true);
    expect(r.connection.states).toEqual([]);
    // the thread's requests go unanswered: expired 30 s after the last answer's arrival, not before
    const lastAnswer = thread.tally.answeredAt;
    for (let i = 0; i < 6; i++) thread.sent();
    while (now + CONSENT_TICK_MS - lastAnswer <= CONSENT_TIMEOUT_MS) {
      r.advance(CONSENT_TICK_MS);
      now += CONSENT_TICK_MS;
    }
    expect(r.count.expired).toBe(0);
    r.advance(CONSENT_TICK_MS);
    expect(r.count.expired).toBe(1);
    expect(r.connection.states).toEqual(["failed"]);
    expect(r.connection.consentFresh).toBe(false);
    expect(thread.stops).toBe(1);
    expect(r.count.requests, "the unanswered ones folded before the stop").toBe(18);
    expect(r.sent.length).toBe(0);
  });

  it("an answer makes a disconnected connection connected again, as one taken here does", () => {
    const thread = new FakeThread();
    const r = rig({ thread: () => thread });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    r.connection.setState("disconnected");
    thread.sent();
    thread.answered(1300, 0.4);
    r.advance(CONSENT_TICK_MS);
    expect(r.connection.states).toEqual(["disconnected", "connected"]);
  });

  it("takes the checks back when the thread lets go of the socket (what it did folded first, the next check a full interval on) and hands them over again when it reads it again", () => {
    let reading = true;
    let thread = new FakeThread();
    const r = rig({ thread: () => (reading ? thread : undefined) });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    const first = thread;
    first.sent();
    first.answered(1260, 0.5);
    first.sent();
    first.live = false;
    reading = false;
    r.advance(CONSENT_TICK_MS);
    expect(r.count).toMatchObject({ requests: 2, answers: 1 });
    expect(first.stops, "nothing to stop: the thread's checks ended with its read").toBe(0);
    r.advance(CONSENT_INTERVAL_MS - CONSENT_TICK_MS);
    expect(r.sent.length).toBe(0);
    r.advance(CONSENT_TICK_MS);
    expect(r.sent.length).toBe(1);
    // read again (a new receiver id): a new hand-over, its tally from zero
    thread = new FakeThread();
    reading = true;
    r.advance(CONSENT_TICK_MS);
    expect(thread.started).toHaveLength(1);
    thread.sent();
    r.advance(CONSENT_TICK_MS);
    expect(r.count.requests).toBe(4);
    // an answer to this clock's own request, sent before the hand-over, is still taken here
    r.deliver(answerTo(r.sent.at(-1)));
    expect(r.count.answers).toBe(2);
    expect(r.toWerift).toEqual([]);
  });

  it("takes the answer to the thread's last request after taking the checks back, timed from the thread's send", () => {
    let reading = true;
    const thread = new FakeThread();
    const r = rig({ thread: () => (reading ? thread : undefined) });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    const id = Buffer.from("thread-req-1");
    thread.sent();
    thread.tally = { ...thread.tally, outstanding: { id, sentAt: 1400 } };
    thread.live = false;
    reading = false;
    r.advance(CONSENT_TICK_MS); // now 1500
    expect(r.count).toMatchObject({ requests: 1, answers: 0 });
    r.idle(3);
    r.deliver(answerTo(Buffer.concat([Buffer.alloc(8), id])));
    expect(r.count.answers).toBe(1);
    expect(r.connection.nominated?.rtt).toBe(0.103);
    expect(r.connection.nominated?.responsesReceived).toBe(1);
    expect(r.toWerift).toEqual([]);
  });

  it("stops the thread before its last fold, so what it did up to the stop is counted", () => {
    for (const end of ["role", "close"] as const) {
      const thread = new FakeThread();
      const r = rig({ thread: () => thread });
      r.clock.start(r.connection, r.count);
      r.advance(CONSENT_TICK_MS);
      thread.calls = [];
      if (end === "role") (r.connection as { iceControlling: boolean }).iceControlling = true;
      else r.connection.setState("closed");
      r.advance(CONSENT_TICK_MS);
      expect(thread.calls.slice(0, 2), end).toEqual(["stop", "read"]);
    }
  });

  it("hands over again when the request's fields change (the ICE role), stopping the thread's first", () => {
    const thread = new FakeThread();
    const r = rig({ thread: () => thread });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_TICK_MS);
    (r.connection as { iceControlling: boolean }).iceControlling = true;
    r.advance(CONSENT_TICK_MS);
    expect(thread.stops).toBe(1);
    expect(thread.started).toHaveLength(2);
    const request = parseMessage(
      thread.started[1]?.request ?? Buffer.alloc(0),
      Buffer.from("remote-password"),
    );
    expect(request?.getAttributeValue("ICE-CONTROLLING")).toBe(TIE);
  });

  it("stops the thread's checks when werift ends consent (stopConsentLifecycle) or the connection closes", () => {
    for (const end of ["stop", "close"] as const) {
      const thread = new FakeThread();
      const r = rig({ thread: () => thread });
      r.clock.start(r.connection, r.count);
      r.advance(CONSENT_TICK_MS);
      thread.sent();
      if (end === "stop") r.connection.stopConsentLifecycle();
      else r.connection.setState("closed");
      r.advance(CONSENT_TICK_MS);
      expect(thread.stops, end).toBe(1);
      expect(r.count.requests, end).toBe(1);
      expect(r.count.expired, end).toBe(0);
      expect(r.clock.size, end).toBe(0);
    }
  });

  it("keeps the checks here when the thread refuses them (credentials longer than it holds), asking once", () => {
    const thread = new FakeThread();
    thread.refuse = "checkConsent(id, request: Buffer ... up to 640 bytes)";
    let asked = 0;
    const r = rig({
      thread: () => {
        asked++;
        return thread;
      },
    });
    r.clock.start(r.connection, r.count);
    r.advance(CONSENT_INTERVAL_MS * 2);
    expect(asked).toBe(1);
    expect(r.sent.length).toBe(2);
    expect(thread.started).toHaveLength(0);
  });
});
