import { describe, expect, it } from "vitest";
import { EarlyDatagrams, KEPT_LIMIT, isDtlsRecord, keepEarly, takeEarly } from "./early-dtls.js";

const dtls = (n: number): Buffer => Buffer.from([22, 0xfe, 0xfd, n]);
const rtp = Buffer.from([0x80, 111, 0, 1]);
const stun = Buffer.from([0x00, 0x01, 0, 0]);

/** A werift ICE connection's data event, fired by hand. */
function connection(iceControlling: boolean) {
  const subscribers = new Set<(data: Buffer) => void>();
  return {
    iceControlling,
    onData: {
      subscribe(f: (data: Buffer) => void) {
        subscribers.add(f);
        return { unSubscribe: () => subscribers.delete(f) };
      },
    },
    receive(data: Buffer) {
      for (const f of subscribers) f(data);
    },
    subscribers,
  };
}

const socketOn = (ice: object) => ({ transport: { socket: { ice } } });

describe("isDtlsRecord: RFC 7983's first byte", () => {
  it("20-63 is DTLS; STUN (0-3) and RTP or RTCP (128-191) are not", () => {
    expect(isDtlsRecord(dtls(1))).toBe(true);
    expect(isDtlsRecord(Buffer.from([20]))).toBe(true);
    expect(isDtlsRecord(Buffer.from([63]))).toBe(true);
    expect(isDtlsRecord(Buffer.from([64]))).toBe(false);
    expect(isDtlsRecord(rtp)).toBe(false);
    expect(isDtlsRecord(stun)).toBe(false);
    expect(isDtlsRecord(Buffer.alloc(0))).toBe(false);
  });
});

describe("EarlyDatagrams", () => {
  it("keeps DTLS datagrams in order, up to its limit, and nothing once taken", () => {
    const e = new EarlyDatagrams();
    e.offer(rtp);
    for (let i = 0; i < KEPT_LIMIT + 2; i++) e.offer(dtls(i));
    const kept = e.take();
    expect(kept.map((b) => b[3])).toEqual([...Array(KEPT_LIMIT).keys()]);
    e.offer(dtls(99));
    expect(e.take()).toEqual([]);
  });
});

describe("keepEarly and takeEarly", () => {
  it("a controlling connection keeps what comes before its DTLS transport, which takes it and ends the keeping", () => {
    const c = connection(true);
    keepEarly(c);
    keepEarly(c); // werift's connect again (a second description): one keeping
    expect(c.subscribers.size).toBe(1);
    c.receive(dtls(1));
    c.receive(rtp);
    c.receive(dtls(2));
    expect(takeEarly(socketOn(c)).map((b) => b[3])).toEqual([1, 2]);
    expect(c.subscribers.size).toBe(0);
    // an ICE restart's checks later: its DTLS is up, nothing is kept
    keepEarly(c);
    expect(c.subscribers.size).toBe(0);
    expect(takeEarly(socketOn(c))).toEqual([]);
  });

  it("a controlled connection keeps nothing (lean's DTLS client speaks first there)", () => {
    const c = connection(false);
    keepEarly(c);
    expect(c.subscribers.size).toBe(0);
    expect(takeEarly(socketOn(c))).toEqual([]);
    expect(takeEarly({})).toEqual([]);
  });
});
