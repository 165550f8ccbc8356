import { randomFillSync } from "node:crypto";
import { Socket, type RemoteInfo } from "node:dgram";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { candidatePriority, type RTCPeerConnection } from "werift";
import {
  BINDING_REQUEST,
  BINDING_SUCCESS,
  HEADER_BYTES,
  HMAC_BYTES,
  ICE_CONTROLLED,
  ICE_CONTROLLING,
  MAGIC_COOKIE,
  MESSAGE_INTEGRITY,
  STUN_TRAILER_BYTES,
  USERNAME,
  signStun,
  stunIntegrityHolds,
} from "./binding.js";
import { realClock, type ClockDeps } from "./report-clock.js";
import type { ConsentTally, ConsentThread } from "./native-consent.js";
import { nativeArrivalMs, threadConsentOn } from "./native-receive.js";
import { tapSocket } from "./socket-tap.js";

/**
 * ICE consent freshness (RFC 7675) on one process-wide clock. werift keeps, per ICE connection, an
 * async loop that sleeps 4-6 s on an abortable delay (a promise, a timer, an AbortController and
 * its listener), then sends a binding request through its STUN transactions (another controller,
 * a response timer, a promise; the message built attribute by attribute, its CRC in JavaScript)
 * and parses the answer into attribute objects: 4.2% of a 16-room 360p worker's busy time
 * (bench/results.md, 2026-11-26). Here one unref'd interval sends each connection's request when
 * it is due, written in one buffer (USERNAME, PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED,
 * MESSAGE-INTEGRITY, FINGERPRINT: the attributes werift's request carries) on the selected pair's
 * socket, and the success response is taken at the socket (socket-tap.ts) once its transaction id
 * is the last request's and its MESSAGE-INTEGRITY checks out with the remote password.
 *
 * werift's rules are kept: a request every 5 s x (0.8-1.2), no retransmission; an answer makes
 * consent fresh (and a "disconnected" connection "connected" again); 30 s without one expires
 * it: `consentFresh` false and the connection "failed", which is what starts a lean
 * participant's reconnection. werift's own `stopConsentLifecycle` (close, ICE restart) ends this
 * too, and the restart's `queryConsent` starts it again on the new pair. Left to werift: a pair
 * over TCP or TURN, IPv6, a remote ICE-lite agent (werift nominates in its consent requests then),
 * a socket the tap cannot take.
 *
 * On a socket the native media thread reads (native-receive.ts), the checks are handed to it
 * (native-consent.ts, lean-media.c consent_due) once it reads the socket: it sends this clock's
 * request under a fresh transaction id on the same rules and takes the answer, timed from the
 * send to the kernel's arrival. This clock reads what it did at each tick into the pair's counts
 * and consent's freshness; expiry stays here, and the checks come back here when the thread lets
 * go of the socket.
 */

export const CONSENT_INTERVAL_MS = 5000;
export const CONSENT_TIMEOUT_MS = 30_000;
export const CONSENT_TICK_MS = 250;
/**
 * The event loop's busy time between a check's send and its answer's handling that a round trip
 * may hold and still be reported: this, or LOOP_BUSY_SHARE of the round trip, whichever is more.
 * The answer waits in the socket while the loop is busy (the kernel has it, the loop is running
 * JavaScript); once it is there the loop cannot go idle without handling it, so the loop's idle
 * time in between (libuv's, in epoll) is a floor of the true round trip and the span its ceiling.
 * A span the loop was busy for most of is a stall's, not the network's: the check keeps consent
 * fresh and measures nothing (`ConsentCount.busy`); any other span is reported. A 5-room lean run on
 * loopback read 72 ms in its first windows where the wire took under 1 ms, the joins' JavaScript
 * between. The share is a quarter: at 150 ms +- 40 ms of delay a loaded worker is busy 5-20% of any
 * 300 ms span, mostly before the answer came (a 5% rule left a loaded run's lean windows with no
 * round trip at all; the midpoint of floor and ceiling read 22 ms low), and on loopback a half let
 * through ~1 ms stalls (5 rooms, p95 1.37 ms over a 0.3 ms wire).
 */
export const LOOP_BUSY_BOUND_MS = 0.5;
export const LOOP_BUSY_SHARE = 0.25;
/** A pair with no round trip yet whose answer came to a busy loop checks again this soon. */
export const BUSY_RETRY_MS = 1000;

/** STUN PRIORITY (RFC 8445 16.1); the other STUN constants are binding.ts's. */
const PRIORITY = 0x0024;

/**
 * A consent check's binding request (RFC 8445 7.2.2, RFC 5389): USERNAME, PRIORITY, the ICE
 * role with `tieBreaker`, MESSAGE-INTEGRITY with `password`, FINGERPRINT. Pure, for tests.
 */
export function consentRequest(
  transactionId: Buffer,
  username: string,
  priority: number,
  controlling: boolean,
  tieBreaker: bigint,
  password: string,
): Buffer {
  const user = Buffer.from(username, "utf8");
  const userBytes = (user.length + 3) & ~3;
  const integrityAt = HEADER_BYTES + 4 + userBytes + 8 + 12;
  const m = Buffer.alloc(integrityAt + STUN_TRAILER_BYTES);
  m.writeUInt16BE(BINDING_REQUEST, 0);
  m.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(m, 8, 0, 12);
  let at = HEADER_BYTES;
  m.writeUInt16BE(USERNAME, at);
  m.writeUInt16BE(user.length, at + 2);
  user.copy(m, at + 4);
  at += 4 + userBytes;
  m.writeUInt16BE(PRIORITY, at);
  m.writeUInt16BE(4, at + 2);
  m.writeUInt32BE(priority >>> 0, at + 4);
  at += 8;
  m.writeUInt16BE(controlling ? ICE_CONTROLLING : ICE_CONTROLLED, at);
  m.writeUInt16BE(8, at + 2);
  m.writeBigUInt64BE(BigInt.asUintN(64, tieBreaker), at + 4);
  signStun(m, integrityAt, password);
  return m;
}

/**
 * Whether `data` is the success response to the request `transactionId`, its MESSAGE-INTEGRITY
 * valid for `password`. Pure, for tests.
 */
export function consentAnswered(data: Buffer, transactionId: Buffer, password: string): boolean {
  if (data.length < HEADER_BYTES || data.readUInt16BE(0) !== BINDING_SUCCESS) return false;
  if (data.readUInt32BE(4) !== MAGIC_COOKIE || HEADER_BYTES + data.readUInt16BE(2) !== data.length)
    return false;
  if (!data.subarray(8, HEADER_BYTES).equals(transactionId)) return false;
  for (let at = HEADER_BYTES; at + 4 <= data.length;) {
    const type = data.readUInt16BE(at);
    const length = data.readUInt16BE(at + 2);
    if (at + 4 + length > data.length) return false;
    if (type === MESSAGE_INTEGRITY) return length === HMAC_BYTES && stunIntegrityHolds(data, at, password);
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return false;
}

/** werift's selected pair, as consent reads and counts it (private in its types). */
export interface Pair {
  readonly remoteAddr: readonly [string, number];
  readonly protocol: { readonly transport: { readonly socket?: unknown } };
  readonly localCandidate?: { readonly priority?: number };
  consentRequestsSent: number;
  requestsSent: number;
  responsesReceived: number;
  rtt?: number;
  totalRoundTripTime: number;
  roundTripTimeMeasurements: number;
  /** Connectivity-check requests werift sent again for want of an answer. */
  retransmissionsSent?: number;
}

/**
 * Karn's rule (RFC 6298 3) on the round trip werift's connectivity checks leave on a pair: werift
 * times a check from its first send to the answer, across its STUN retransmissions (50, 100, 200
 * ms apart), so a check whose first request or answer was lost reads 50 ms and more on a path of
 * 1 ms (seen under a 10% drop: 51-54 ms on loopback, until the first consent answer 4-6 s later).
 * When any check on the pair went out again, its current round trip (`rtt`, what a lean sample
 * reports) is dropped: the pair has none until a consent request, never resent, is answered.
 * werift's running totals, which nothing here reads, are left as werift made them. Returns
 * whether it dropped one.
 */
export function dropRetransmittedCheckRtt(pair: Pair): boolean {
  if ((pair.retransmissionsSent ?? 0) === 0 || pair.rtt === undefined) return false;
  pair.rtt = undefined;
  return true;
}

/** werift's ICE connection, as consent reads and moves it (private in its types). */
export interface ConsentConnection {
  readonly iceLite: boolean;
  readonly remoteIsLite?: boolean;
  readonly iceControlling: boolean;
  readonly localUsername: string;
  readonly remoteUsername: string;
  readonly remotePassword: string;
  readonly tieBreaker: bigint;
  readonly state: string;
  readonly nominated?: Pair;
  readonly queryConsentHandle?: unknown;
  consentFresh: boolean;
  consentSessionId: number;
  queryConsent: () => void;
  stopConsentLifecycle(): void;
  setState(state: string): void;
}

/** What consent did, so a test can see the path is taken. */
export interface ConsentCount {
  /** Requests sent on the clock. */
  requests: number;
  /** Answers that made consent fresh. */
  answers: number;
  /** Connections whose consent expired (set "failed"). */
  expired: number;
  /** Connections left to werift's consent loop (see the top of this file). */
  onWerift: number;
  /** Answers handled after the loop was busy past LOOP_BUSY_BOUND_MS: fresh, but no round trip. */
  busy?: number;
}

/** A point in the event loop's idle and busy time (performance.eventLoopUtilization's). */
export type LoopMark = unknown;

/** The clock's time, chance and interval, and the socket's send: a test injects them. */
export interface ConsentDeps extends ClockDeps {
  send(socket: Socket, data: Buffer, port: number, address: string): void;
  /** Where the event loop's busy time stands now. */
  loopMark(): LoopMark;
  /** The event loop's busy (not idle) milliseconds since `mark`. */
  loopBusyMs(since: LoopMark): number;
  /** The native thread's checks on `socket`, when the thread reads it. */
  thread?(socket: Socket): ConsentThread | undefined;
}

const NOTHING_TALLIED: ConsentTally = { requests: 0, answers: 0, answeredAt: 0, rttMs: 0, rttSumMs: 0 };

/** The PRIORITY werift's checks on a UDP pair carry: a peer-reflexive candidate's (RFC 8445 7.1.1). */
export const PRFLX_UDP_PRIORITY = candidatePriority("prflx", { transport: "udp" });

/** What of a werift ICE connection a binding request on its pair is written from. */
export interface RequestingConnection {
  readonly iceControlling: boolean;
  readonly localUsername: string;
  readonly remoteUsername: string;
  readonly remotePassword: string;
  readonly tieBreaker: bigint;
}

/** A binding request on `c`'s pair under a fresh transaction id, with its role and a prflx priority. */
export function requestOn(c: RequestingConnection): { id: Buffer; message: Buffer } {
  const id = Buffer.allocUnsafe(12);
  randomFillSync(id);
  const message = consentRequest(
    id,
    `${c.remoteUsername}:${c.localUsername}`,
    PRFLX_UDP_PRIORITY,
    c.iceControlling,
    c.tieBreaker,
    c.remotePassword,
  );
  return { id, message };
}

/** One connection's consent on the clock. */
class Consent {
  private nextAt: number;
  private freshAt: number;
  private outstanding: Buffer | undefined;
  private sentAt = 0;
  private sentMark: LoopMark;
  /** The native thread's checks, once handed over; what of them is in the pair's counts. */
  private thread: ConsentThread | undefined;
  private threadRefused = false;
  private folded = NOTHING_TALLIED;
  /** The request's fields as handed to the thread. */
  private given: readonly [string, string, boolean, bigint] | undefined;
  active = true;

  constructor(
    private readonly connection: ConsentConnection,
    private readonly pair: Pair,
    private readonly socket: Socket,
    private readonly sessionId: number,
    private readonly deps: ConsentDeps,
    private readonly count: ConsentCount,
  ) {
    const now = deps.now();
    this.freshAt = now;
    // a pair without a round trip (werift's was dropped: see start) is checked at the next tick
    this.nextAt = pair.rtt === undefined ? now : now + this.interval();
    this.sentMark = deps.loopMark();
  }

  /** One tick: false once this consent is over (ended by werift, expired, or the connection closed). */
  step(now: number): boolean {
    const c = this.connection;
    if (!this.active) return false;
    if (c.consentSessionId !== this.sessionId || c.state === "closed" || c.state === "failed") {
      this.end();
      return false;
    }
    this.onThread(now);
    if (now - this.freshAt > CONSENT_TIMEOUT_MS) {
      this.end();
      c.consentFresh = false;
      c.consentSessionId++;
      this.count.expired++;
      c.setState("failed");
      return false;
    }
    if (this.thread === undefined && now >= this.nextAt) {
      this.nextAt = now + this.interval();
      this.request();
    }
    return true;
  }

  private end(): void {
    this.active = false;
    if (this.thread === undefined) return;
    // stopped first: what the thread did up to the stop is all in the fold
    this.thread.stop();
    this.fold();
    this.thread = undefined;
  }

  /**
   * Hands the checks to the native thread once it reads the pair's socket, folds what it did into
   * the pair's counts, and takes them back when it no longer reads it (or hands them over again
   * when the request's fields changed).
   */
  private onThread(now: number): void {
    const c = this.connection;
    if (this.thread !== undefined) {
      const live = this.thread.live;
      const given = this.given;
      const same =
        given?.[0] === c.remoteUsername &&
        given[1] === c.remotePassword &&
        given[2] === c.iceControlling &&
        given[3] === c.tieBreaker;
      if (live && same) {
        this.fold();
        return;
      }
      // stopped first: what the thread did up to the stop is all in the fold (a socket it let go
      // of has its state final already)
      if (live) this.thread.stop();
      const last = this.fold();
      this.thread = undefined;
      // the thread's last request, if unanswered, is this clock's to take the answer of, as if it
      // had sent it; its next is a full interval on
      if (last?.outstanding !== undefined) {
        this.outstanding = last.outstanding.id;
        this.sentAt = last.outstanding.sentAt;
        this.sentMark = this.deps.loopMark();
      }
      this.nextAt = now + this.interval();
    }
    if (this.threadRefused) return;
    const thread = this.deps.thread?.(this.socket);
    if (thread === undefined) return;
    const { message } = requestOn(c);
    if (thread.start(message, c.remotePassword, this.pair.remoteAddr, this.nextAt) !== undefined) {
      // a request or password longer than the thread holds: checked here, as before
      this.threadRefused = true;
      return;
    }
    this.thread = thread;
    this.folded = NOTHING_TALLIED;
    this.given = [c.remoteUsername, c.remotePassword, c.iceControlling, c.tieBreaker];
  }

  /** What the thread sent and took since the last fold, into the pair's counts and consent; its state read. */
  private fold(): ConsentTally | undefined {
    if (this.thread === undefined) return undefined;
    const t = this.thread.read();
    const f = this.folded;
    this.folded = t;
    const pair = this.pair;
    const requests = t.requests - f.requests;
    if (requests > 0) {
      pair.consentRequestsSent += requests;
      pair.requestsSent += requests;
      this.count.requests += requests;
    }
    const answers = t.answers - f.answers;
    if (answers <= 0) return t;
    this.freshAt = Math.max(this.freshAt, t.answeredAt);
    pair.rtt = t.rttMs / 1000;
    pair.totalRoundTripTime += (t.rttSumMs - f.rttSumMs) / 1000;
    pair.roundTripTimeMeasurements += answers;
    pair.responsesReceived += answers;
    this.count.answers += answers;
    const c = this.connection;
    c.consentFresh = true;
    if (c.state === "disconnected") c.setState("connected");
    return t;
  }

  private request(): void {
    const { id, message } = requestOn(this.connection);
    // timed from the send itself (a tick sending many checks reaches this one later than `now`),
    // read before it: the native path's sendto is on the wire at once, and its answer's kernel
    // arrival can come before a clock read after the call
    const sentAt = this.deps.now();
    const sentMark = this.deps.loopMark();
    try {
      this.deps.send(this.socket, message, this.pair.remoteAddr[1], this.pair.remoteAddr[0]);
    } catch {
      // a socket closed under the pair: no answer comes, and consent expires as werift's would
      return;
    }
    this.outstanding = id;
    this.sentAt = sentAt;
    this.sentMark = sentMark;
    this.pair.consentRequestsSent++;
    this.pair.requestsSent++;
    this.count.requests++;
  }

  /** The socket's taker: the success response to the last request. */
  take(data: Buffer, from: RemoteInfo): boolean {
    if (data[0] !== 0x01 || data[1] !== 0x01 || !this.active || this.outstanding === undefined) return false;
    const [address, port] = this.pair.remoteAddr;
    if (from.port !== port || from.address !== address) return false;
    if (!consentAnswered(data, this.outstanding, this.connection.remotePassword)) return false;
    // the native media path read the answer and knows when it arrived: no loop's wait is in it
    const arrived = nativeArrivalMs();
    const now = this.deps.now();
    this.outstanding = undefined;
    this.freshAt = now;
    const spanMs = (arrived ?? now) - this.sentAt;
    const busyMs =
      arrived !== undefined ? 0 : Math.min(spanMs, Math.max(0, this.deps.loopBusyMs(this.sentMark)));
    if (busyMs <= Math.max(LOOP_BUSY_BOUND_MS, LOOP_BUSY_SHARE * spanMs)) {
      const rtt = spanMs / 1000;
      this.pair.rtt = rtt;
      this.pair.totalRoundTripTime += rtt;
      this.pair.roundTripTimeMeasurements++;
    } else {
      this.count.busy = (this.count.busy ?? 0) + 1;
      if (this.pair.rtt === undefined) this.nextAt = Math.min(this.nextAt, now + BUSY_RETRY_MS);
    }
    this.pair.responsesReceived++;
    this.count.answers++;
    const c = this.connection;
    c.consentFresh = true;
    if (c.state === "disconnected") c.setState("connected");
    return true;
  }

  private interval(): number {
    return CONSENT_INTERVAL_MS * (0.8 + 0.4 * this.deps.random());
  }
}

const realDeps: ConsentDeps = {
  ...realClock,
  send: (socket, data, port, address) => {
    socket.send(data, port, address);
  },
  loopMark: () => performance.eventLoopUtilization(),
  loopBusyMs: (since) => performance.eventLoopUtilization(since as EventLoopUtilization).active,
  thread: threadConsentOn,
};

/** Every consent of the process on one interval, running while there is one. */
export class ConsentClock {
  private readonly consents = new Set<Consent>();
  private ticking: { cancel(): void } | undefined;

  constructor(readonly deps: ConsentDeps = realDeps) {}

  get size(): number {
    return this.consents.size;
  }

  /**
   * Puts `connection`'s consent on this clock in place of werift's loop, as werift's
   * `queryConsent` would start it; false when it stays with werift (see the top of this file).
   */
  start(connection: ConsentConnection, count: ConsentCount): boolean {
    const pair = connection.nominated;
    if (pair !== undefined) dropRetransmittedCheckRtt(pair);
    const socket = pair?.protocol.transport.socket;
    if (
      pair === undefined ||
      connection.remoteIsLite === true ||
      !(socket instanceof Socket) ||
      pair.remoteAddr[0].includes(":")
    )
      return false;
    // werift's own start: ends what ran before (its loop, or this clock's), a new session
    connection.stopConsentLifecycle();
    // werift timed its checks in JavaScript during the join, the loop at its busiest, with no
    // bound on how long an answer sat in the socket: this clock checks at once and times it instead
    const weriftRtt = pair.rtt;
    pair.rtt = undefined;
    const consent = new Consent(connection, pair, socket, connection.consentSessionId, this.deps, count);
    if (!tapSocket(socket, (data, from) => consent.take(data, from))) {
      pair.rtt = weriftRtt;
      return false;
    }
    connection.consentFresh = true;
    this.consents.add(consent);
    this.ticking ??= this.deps.every(() => {
      this.tick();
    }, CONSENT_TICK_MS);
    return true;
  }

  tick(): void {
    const now = this.deps.now();
    for (const consent of this.consents) if (!consent.step(now)) this.consents.delete(consent);
    if (this.consents.size === 0) {
      this.ticking?.cancel();
      this.ticking = undefined;
    }
  }
}

export const sharedConsentClock = new ConsentClock();

/**
 * Checks consent on `pc`'s ICE connections on `clock` from ICE connected on (see the top of this
 * file): werift starts its loop just before it says "connected", so the first start here ends
 * that loop, and an ICE restart's start comes here directly.
 */
export function checkConsentOnOneClock(
  pc: RTCPeerConnection,
  count: ConsentCount,
  clock: ConsentClock = sharedConsentClock,
): void {
  const taken = new WeakSet<object>();
  pc.iceConnectionStateChange.subscribe((state) => {
    if (state !== "connected" && state !== "completed") return;
    for (const transport of pc.iceTransports) {
      const connection = transport.connection as unknown as ConsentConnection;
      if (taken.has(connection) || typeof connection.queryConsent !== "function") continue;
      taken.add(connection);
      const werift = connection.queryConsent;
      const query = (): void => {
        if (connection.iceLite) return; // as werift: an ICE-lite agent checks no consent
        if (clock.start(connection, count)) return;
        count.onWerift++;
        werift();
      };
      connection.queryConsent = query;
      // werift's loop is running (it started it before "connected"): this one takes its place
      if (connection.queryConsentHandle !== undefined) query();
    }
  });
}
