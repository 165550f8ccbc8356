import { DtlsClient } from "werift";

/**
 * A lean subscriber's DTLS handshake, when a datagram of it was lost, never completed against
 * LiveKit: werift resends a flight as the very bytes it first sent, record sequence numbers
 * included, and pion (LiveKit's DTLS) discards a record whose (epoch, sequence number) it has seen
 * as a replay (RFC 6347 4.1.2.6). So when the server's HelloVerifyRequest or its last flight
 * (ChangeCipherSpec, Finished) was lost, every resend of the ClientHello or of flight 5 was
 * dropped unread, pion, which resends neither of those on its own, never answered again, and the
 * PeerConnection sat in "connecting" until the join timed out. Measured with nftables dropping the
 * node's outgoing UDP at random, before this and keepEarlyAssociation (peer.ts): 1 of 21 lean
 * participants failed to join at 10%, 4 at 25%, 8 at 50%; after both, none at 25%, 0-2 at 50% over
 * four runs. The native engine joined all 21 at 25% and at 50%. lean.e2e drops the server's
 * HelloVerifyRequest for 2 s: without this the join times out.
 *
 * The cure at the wire: while a werift DTLS client is handshaking, a record it sends again gets a
 * sequence number it has not sent in that epoch, and a record of a later epoch (the Finished,
 * encrypted under AEAD whose nonce and additional data carry the sequence number) is sealed again
 * under the new one. werift's own counter is moved past what was given, so its next records do
 * not take a number again. Once connected, the counter is moved past the epoch's highest number
 * too: werift numbers its Finished from the epoch-0 counter and then starts epoch 1 at 0, so one of
 * its first data-channel records would otherwise repeat the Finished's number, which pion's replay
 * check drops (read from werift's code; SCTP would resend it, so nothing measured showed it).
 */

/** DTLS 1.2 record header: type 1, version 2, epoch 2, sequence number 6, length 2. */
const HEADER = 13;

/** The record header fields werift's AEAD suite takes. */
export interface RecordHeader {
  type: number;
  version: number;
  epoch: number;
  sequenceNumber: number;
}

/** Seals a record body again under a new header (AEAD: its nonce and additional data). */
export type Reseal = (body: Buffer, was: RecordHeader, now: RecordHeader) => Buffer;

/** werift's counter of the records it sends: the epoch it is in and the last number it gave. */
export interface RecordCounter {
  epoch: number;
  recordSequenceNumber: number;
  /** The handshake flight werift is at (1, 3, 5, then 7 once connected). */
  flight?: number;
}

/** DTLS HelloVerifyRequest's handshake type. */
const HELLO_VERIFY_REQUEST = 3;

/**
 * The handshake messages of a datagram werift should see: all of them, but a HelloVerifyRequest
 * once werift has sent its ClientHello with the cookie (flight 3 on). A resent ClientHello is
 * answered again, so a slow server (LiveKit capped at 0.25 core took over 50 ms) sends a second
 * HelloVerifyRequest, the same cookie in it; werift's flight 3 throws on it ("flight3 twice") and
 * fails the transport, or, once at flight 5, starts the handshake over. Pure, for tests.
 */
export function handshakesToHandle(assembled: readonly unknown[], flight: number | undefined): unknown[] {
  if ((flight ?? 0) < 3) return [...assembled];
  return assembled.filter((m) => (m as { msg_type?: number }).msg_type !== HELLO_VERIFY_REQUEST);
}

/** The record numbers a DTLS client has sent, per epoch. */
export class SentRecords {
  private readonly sent = new Map<number, Set<number>>();

  /** The highest number sent in `epoch`, or -1. */
  highest(epoch: number): number {
    let top = -1;
    for (const n of this.sent.get(epoch) ?? []) if (n > top) top = n;
    return top;
  }

  /** Notes a number sent; false when it was sent before. */
  note(epoch: number, sequenceNumber: number): boolean {
    let numbers = this.sent.get(epoch);
    if (numbers === undefined) {
      numbers = new Set();
      this.sent.set(epoch, numbers);
    }
    if (numbers.has(sequenceNumber)) return false;
    numbers.add(sequenceNumber);
    return true;
  }
}

/**
 * `datagram` as it must go out: records already sent in their epoch numbered afresh (and resealed
 * if their epoch is encrypted), the others as they are. The same buffer when nothing changed; a
 * datagram that does not parse as DTLS records goes out as it is.
 */
export function freshRecords(
  datagram: Buffer,
  sent: SentRecords,
  counter: RecordCounter,
  reseal: Reseal,
): Buffer {
  const records: Buffer[] = [];
  let changed = false;
  for (let at = 0; at < datagram.length;) {
    if (datagram.length - at < HEADER) return datagram;
    const length = datagram.readUInt16BE(at + 11);
    const end = at + HEADER + length;
    if (end > datagram.length) return datagram;
    const record = datagram.subarray(at, end);
    at = end;
    const epoch = record.readUInt16BE(3);
    const sequenceNumber = record.readUIntBE(5, 6);
    if (sent.note(epoch, sequenceNumber)) {
      records.push(record);
      continue;
    }
    const fresh =
      Math.max(sent.highest(epoch), counter.epoch === epoch ? counter.recordSequenceNumber : -1) + 1;
    if (counter.epoch === epoch) counter.recordSequenceNumber = fresh;
    sent.note(epoch, fresh);
    const was: RecordHeader = {
      type: record.readUInt8(0),
      version: record.readUInt16BE(1),
      epoch,
      sequenceNumber,
    };
    let body = record.subarray(HEADER);
    if (epoch > 0) {
      try {
        body = reseal(body, was, { ...was, sequenceNumber: fresh });
      } catch {
        records.push(record); // as werift would have sent it
        continue;
      }
    }
    const header = Buffer.from(record.subarray(0, HEADER));
    header.writeUIntBE(fresh, 5, 6);
    header.writeUInt16BE(body.length, 11);
    records.push(header, body);
    changed = true;
  }
  return changed ? Buffer.concat(records) : datagram;
}

/** What of a werift DtlsClient this reads and changes (werift keeps its types private). */
interface WeriftClient {
  readonly sessionType: number;
  readonly dtls: RecordCounter;
  readonly cipher: { cipher?: AeadSuite };
  readonly transport: {
    send: (buf: Buffer, addr?: unknown) => unknown;
    /** werift's IceTransport: the ICE connection under the handshake. */
    readonly socket?: { readonly ice?: IceRoundTrips };
  };
  /** What werift's DtlsSocket hands each datagram's handshake messages to. */
  onHandleHandshakes?: (assembled: unknown[]) => Promise<void>;
  readonly onConnect: { once(f: () => void): void };
}

/** libwebrtc's bounds on a DTLS handshake's first retransmission timeout (dtls_transport.cc). */
export const FLIGHT_TIMEOUT_MIN_MS = 50;
export const FLIGHT_TIMEOUT_MAX_MS = 3000;
/** BoringSSL doubles the timeout after each resend, up to a minute. */
const FLIGHT_TIMEOUT_CAP_MS = 60_000;
/** Resends of one flight before this timer leaves the handshake to werift's own. */
export const FLIGHT_MAX_RESENDS = 8;

/** The round trips werift's ICE measured: the nominated pair's, and each checked pair's. */
export interface IceRoundTrips {
  readonly nominated?: { readonly rtt?: number };
  readonly checkList?: readonly {
    readonly rtt?: number;
    readonly totalRoundTripTime?: number;
    readonly roundTripTimeMeasurements?: number;
  }[];
}

/**
 * The ICE round trip when DTLS starts, s: the nominated pair's, else the shortest a checked pair
 * holds, else the shortest mean of werift's running totals (when a pair's check went out again,
 * Karn's rule in consent.ts has dropped its round trip by then, and the mean, timed across the
 * resend, is an upper bound). Undefined when no check was answered.
 */
export function iceRoundTripS(ice: IceRoundTrips | undefined): number | undefined {
  const nominated = ice?.nominated?.rtt;
  if (nominated !== undefined) return nominated;
  let current: number | undefined;
  let mean: number | undefined;
  for (const pair of ice?.checkList ?? []) {
    if (pair.rtt !== undefined && (current === undefined || pair.rtt < current)) current = pair.rtt;
    const n = pair.roundTripTimeMeasurements ?? 0;
    if (n > 0 && pair.totalRoundTripTime !== undefined) {
      const m = pair.totalRoundTripTime / n;
      if (mean === undefined || m < mean) mean = m;
    }
  }
  return current ?? mean;
}

/** libwebrtc's first retransmission timeout: twice the ICE round trip within its bounds, the maximum without one. */
export function initialFlightTimeoutMs(rttS: number | undefined): number {
  if (rttS === undefined || !Number.isFinite(rttS) || rttS < 0) return FLIGHT_TIMEOUT_MAX_MS;
  return Math.max(FLIGHT_TIMEOUT_MIN_MS, Math.min(FLIGHT_TIMEOUT_MAX_MS, Math.round(2 * rttS * 1000)));
}

/** The timer's world: a clock-free setTimeout and its clear, so a test drives it. */
export interface FlightTimerDeps {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

const realTimers: FlightTimerDeps = {
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (t) => {
    clearTimeout(t as NodeJS.Timeout);
  },
};

/**
 * A handshake flight resent on libwebrtc's clock. werift resends an unanswered flight after 0.5 s,
 * then 1 s, 1.5 s (its private `Flight.transmit`); libwebrtc starts at twice the ICE round trip
 * (50 ms to 3 s) and BoringSSL doubles it. pion (LiveKit's DTLS, the server on the subscriber
 * PeerConnection) resends a flight of its own on a 100 ms clock, doubling, only while it waits for
 * our next one: its HelloVerifyRequest and its last flight go again only when ours does. So a lost
 * one cost a lean subscriber 0.5 s or more where it costs a libwebrtc client 50 ms (seen under a
 * 25% drop of the node's outgoing UDP: a ClientHello resent by werift 0.5 and 1.5 s after the
 * first). What this sends is the datagrams werift sent since the peer's last handshake message
 * (the flight), again, through the same `send` (so their records are numbered afresh); a handshake
 * message from the peer ends the flight (a ChangeCipherSpec alone does not), and werift's next
 * send starts another. werift's own resends still go, late and harmless. Ends at connect, or
 * after `FLIGHT_MAX_RESENDS` resends of one flight.
 */
export class FlightTimer {
  private flight: Buffer[] = [];
  private heard = true;
  private resending = false;
  private timeoutMs: number;
  private resends = 0;
  private timer: unknown;
  private ended = false;
  /** Flights resent here, for tests and figures. */
  resent = 0;

  constructor(
    private readonly send: (buf: Buffer) => void,
    private readonly initialMs: number,
    private readonly deps: FlightTimerDeps = realTimers,
  ) {
    this.timeoutMs = initialMs;
  }

  /** A datagram werift sends: part of the current flight, or the first of a new one. */
  sent(buf: Buffer): void {
    if (this.ended || this.resending) return;
    if (this.heard) {
      this.heard = false;
      this.flight = [];
      this.timeoutMs = this.initialMs;
      this.resends = 0;
    }
    // werift's own resend passes the very buffers again: the flight is what it was
    if (this.flight.includes(buf)) return;
    this.flight.push(buf);
    this.arm();
  }

  /** A handshake message from the peer: the flight was answered (or the peer resent its own). */
  received(): void {
    if (this.ended) return;
    this.heard = true;
    this.disarm();
  }

  end(): void {
    this.ended = true;
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    this.timer = this.deps.setTimer(() => {
      this.timer = undefined;
      this.fire();
    }, this.timeoutMs);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    if (this.ended || this.heard || this.flight.length === 0) return;
    if (this.resends >= FLIGHT_MAX_RESENDS) return;
    this.resends++;
    this.resent++;
    this.resending = true;
    try {
      for (const buf of this.flight) this.send(buf);
    } catch {
      // a transport closed under the handshake: werift's own timer ends it
      this.end();
      return;
    } finally {
      this.resending = false;
    }
    this.timeoutMs = Math.min(FLIGHT_TIMEOUT_CAP_MS, this.timeoutMs * 2);
    this.arm();
  }
}

interface AeadSuite {
  encrypt(type: number, data: Buffer, header: RecordHeader): Buffer;
  decrypt(type: number, data: Buffer, header: RecordHeader): Buffer;
}

/** werift's SessionType: which side's keys seal and which open. */
const CLIENT = 1;
const SERVER = 2;

/** Numbers `client`'s resent records afresh until it connects (see the top of this file). */
export function numberResendsAfresh(client: WeriftClient): void {
  const transport = client.transport;
  const send = transport.send;
  const sent = new SentRecords();
  const reseal: Reseal = (body, was, now) => {
    const suite = client.cipher.cipher;
    if (suite === undefined) throw new Error("no cipher yet");
    // our own record: opened with our write keys (werift opens with the other side's for a type)
    const plain = suite.decrypt(client.sessionType === CLIENT ? SERVER : CLIENT, body, was);
    return suite.encrypt(client.sessionType, plain, now);
  };
  const fresh = (buf: Buffer, addr?: unknown): unknown =>
    send.call(transport, freshRecords(buf, sent, client.dtls, reseal), addr);
  // resent on libwebrtc's clock (FlightTimer): heard when the peer's next flight (a handshake
  // message: a ChangeCipherSpec alone is not one) comes in
  const timer = new FlightTimer(
    (buf) => {
      void Promise.resolve(fresh(buf)).catch(() => undefined);
    },
    initialFlightTimeoutMs(iceRoundTripS(transport.socket?.ice)),
  );
  const handle = client.onHandleHandshakes;
  if (typeof handle === "function")
    client.onHandleHandshakes = (assembled: unknown[]) => {
      const handshakes = handshakesToHandle(assembled, client.dtls.flight);
      if (handshakes.length === 0) return Promise.resolve();
      timer.received();
      return handle.call(client, handshakes);
    };
  else timer.end(); // no way to hear the peer: werift's timer alone
  transport.send = (buf: Buffer, addr?: unknown) => {
    timer.sent(buf);
    return fresh(buf, addr);
  };
  client.onConnect.once(() => {
    timer.end();
    if (typeof handle === "function") client.onHandleHandshakes = handle;
    transport.send = send;
    const dtls = client.dtls;
    dtls.recordSequenceNumber = Math.max(dtls.recordSequenceNumber, sent.highest(dtls.epoch));
  });
}

let installed = false;

/** Each werift DTLS client's handshake, once started: werift's own call later gets the same one. */
const started = new WeakMap<object, Promise<void>>();

/**
 * Every werift DTLS client of this process numbers its resent records afresh and resends an
 * unanswered flight on libwebrtc's clock (`FlightTimer`), and starts its handshake as soon as it
 * is made: werift's RTCDtlsTransport waits a fixed 100 ms after ICE connected before it sends the
 * ClientHello, which added 100 ms to every lean subscriber's join (a join on loopback took 0.14 s
 * where a native one took 0.08), and libwebrtc sends at once. werift builds the client and wires
 * its events in one synchronous step, and its constructor calls `setupExtensions`: the handshake
 * starts on the next turn of the event loop, and werift's own `connect`, 100 ms later, is handed
 * the one under way. Once per process.
 */
export function freshDtlsResends(): void {
  if (installed) return;
  const proto = DtlsClient.prototype as unknown as {
    connect?: (this: WeriftClient) => Promise<void>;
    setupExtensions?: (this: WeriftClient) => void;
  };
  const connect = proto.connect;
  const setupExtensions = proto.setupExtensions;
  if (typeof connect !== "function" || typeof setupExtensions !== "function")
    throw new Error(
      "werift's DtlsClient has no connect or setupExtensions where lean starts its handshake and numbers its resent records: werift changed; check packages/lean's pinned werift version",
    );
  installed = true;
  proto.connect = function (this: WeriftClient) {
    let handshake = started.get(this);
    if (handshake === undefined) {
      numberResendsAfresh(this);
      handshake = connect.call(this);
      started.set(this, handshake);
    }
    return handshake;
  };
  proto.setupExtensions = function (this: WeriftClient) {
    setupExtensions.call(this);
    setImmediate(() => {
      // a failure reaches werift through its own connect, which gets this same promise
      proto.connect?.call(this).catch(() => undefined);
    });
  };
}
