import { describe, expect, it, vi } from "vitest";
import {
  FLIGHT_MAX_RESENDS,
  FlightTimer,
  freshRecords,
  handshakesToHandle,
  iceRoundTripS,
  initialFlightTimeoutMs,
  numberResendsAfresh,
  SentRecords,
  type RecordHeader,
  type Reseal,
} from "./dtls-resend.js";

/** A DTLS 1.2 record: type, version 0xfefd, epoch, 48-bit sequence number, length, body. */
function record(type: number, epoch: number, sequenceNumber: number, body: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(0xfefd, 1);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(body.length, 11);
  return Buffer.concat([header, body]);
}

/** Each record of a datagram as [type, epoch, sequence number, body]. */
function parse(datagram: Buffer): [number, number, number, string][] {
  const out: [number, number, number, string][] = [];
  for (let at = 0; at < datagram.length;) {
    const length = datagram.readUInt16BE(at + 11);
    out.push([
      datagram.readUInt8(at),
      datagram.readUInt16BE(at + 3),
      datagram.readUIntBE(at + 5, 6),
      datagram.subarray(at + 13, at + 13 + length).toString(),
    ]);
    at += 13 + length;
  }
  return out;
}

/** A stand-in AEAD: the body tagged with the sequence number it is sealed under. */
const sealedUnder = (seq: number, text: string): Buffer => Buffer.from(`${seq}:${text}`);
const reseal: Reseal = (body: Buffer, was: RecordHeader, now: RecordHeader) => {
  const [seq, text] = body.toString().split(":");
  if (Number(seq) !== was.sequenceNumber) throw new Error("opened under the wrong header");
  return sealedUnder(now.sequenceNumber, text ?? "");
};

describe("freshRecords: a resent DTLS record gets a number its epoch has not carried", () => {
  it("a datagram sent once goes out as it is, the same buffer", () => {
    const sent = new SentRecords();
    const hello = record(22, 0, 1, Buffer.from("ClientHello"));
    expect(freshRecords(hello, sent, { epoch: 0, recordSequenceNumber: 1 }, reseal)).toBe(hello);
  });

  it("a resent ClientHello takes the next number, and werift's counter moves past it for its next flight", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 1 };
    const hello = record(22, 0, 1, Buffer.from("ClientHello"));
    freshRecords(hello, sent, counter, reseal);
    const again = freshRecords(hello, sent, counter, reseal);
    expect(parse(again)).toEqual([[22, 0, 2, "ClientHello"]]);
    expect(counter.recordSequenceNumber).toBe(2);
    // the bytes besides the number are the record's own
    expect(Buffer.concat([again.subarray(0, 5), again.subarray(11)])).toEqual(
      Buffer.concat([hello.subarray(0, 5), hello.subarray(11)]),
    );
    expect(parse(freshRecords(hello, sent, counter, reseal))).toEqual([[22, 0, 3, "ClientHello"]]);
    // werift's next flight numbers from its counter: 4, which was never sent
    const next = record(22, 0, ++counter.recordSequenceNumber, Buffer.from("ClientHello+cookie"));
    expect(freshRecords(next, sent, counter, reseal)).toBe(next);
  });

  it("flight 5 resent after werift moved to epoch 1: epoch-0 records above the highest sent, the Finished sealed again", () => {
    const sent = new SentRecords();
    // werift: Certificate 3 .. ChangeCipherSpec 6 in epoch 0, Finished in epoch 1 numbered 7 from the
    // epoch-0 counter, which it then resets to 0 for epoch 1
    const flight = [
      record(22, 0, 3, Buffer.from("Certificate")),
      record(22, 0, 4, Buffer.from("ClientKeyExchange")),
      record(20, 0, 5, Buffer.from("ChangeCipherSpec")),
      record(22, 1, 7, sealedUnder(7, "Finished")),
    ];
    const counter = { epoch: 1, recordSequenceNumber: 0 };
    for (const d of flight) expect(freshRecords(d, sent, counter, reseal)).toBe(d);
    const resent = flight.map((d) => parse(freshRecords(d, sent, counter, reseal))[0]);
    expect(resent).toEqual([
      [22, 0, 6, "Certificate"],
      [22, 0, 7, "ClientKeyExchange"],
      [20, 0, 8, "ChangeCipherSpec"],
      [22, 1, 8, "8:Finished"],
    ]);
    expect(counter.recordSequenceNumber).toBe(8);
    expect(parse(freshRecords(flight[3] ?? Buffer.alloc(0), sent, counter, reseal))).toEqual([
      [22, 1, 9, "9:Finished"],
    ]);
  });

  it("several records in one datagram: only those sent before change; a Finished that cannot be sealed again goes as it was", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 2 };
    const a = record(22, 0, 1, Buffer.from("a"));
    freshRecords(a, sent, counter, reseal);
    const both = Buffer.concat([a, record(22, 0, 2, Buffer.from("b"))]);
    expect(parse(freshRecords(both, sent, counter, reseal))).toEqual([
      [22, 0, 3, "a"],
      [22, 0, 2, "b"],
    ]);
    const finished = record(22, 1, 5, sealedUnder(5, "Finished"));
    freshRecords(finished, sent, counter, reseal);
    const refused: Reseal = () => {
      throw new Error("no cipher");
    };
    expect(freshRecords(finished, sent, counter, refused)).toEqual(finished);
  });

  it("what does not parse as DTLS records goes out untouched", () => {
    const sent = new SentRecords();
    const counter = { epoch: 0, recordSequenceNumber: 0 };
    const short = Buffer.from([22, 0xfe, 0xfd, 0, 0]);
    expect(freshRecords(short, sent, counter, reseal)).toBe(short);
    const overlong = record(22, 0, 1, Buffer.from("x"));
    overlong.writeUInt16BE(500, 11);
    expect(freshRecords(overlong, sent, counter, reseal)).toBe(overlong);
  });
});

describe("FlightTimer: an unanswered handshake flight resent on libwebrtc's clock", () => {
  /** Timers the test fires by hand: the next one due, with its delay. */
  function rig(initialMs = 50) {
    const timers: { fn: () => void; ms: number }[] = [];
    const sent: string[] = [];
    const t = new FlightTimer((buf) => sent.push(buf.toString()), initialMs, {
      setTimer: (fn, ms) => {
        const timer = { fn, ms };
        timers.push(timer);
        return timer;
      },
      clearTimer: (timer) => {
        const i = timers.indexOf(timer as { fn: () => void; ms: number });
        if (i >= 0) timers.splice(i, 1);
      },
    });
    const fire = (): number => {
      const next = timers.shift();
      if (next === undefined) throw new Error("no timer armed");
      next.fn();
      return next.ms;
    };
    return { t, sent, timers, fire };
  }

  it("starts at twice the ICE round trip within 50 ms - 3 s, 3 s without one", () => {
    expect(initialFlightTimeoutMs(0.0008)).toBe(50);
    expect(initialFlightTimeoutMs(0.1)).toBe(200);
    expect(initialFlightTimeoutMs(2)).toBe(3000);
    expect(initialFlightTimeoutMs(undefined)).toBe(3000);
  });

  it("resends the whole flight when nothing came back, doubling the wait; an answer ends the flight", () => {
    const { t, sent, timers, fire } = rig();
    const a = Buffer.from("hello-1");
    const b = Buffer.from("hello-2");
    t.sent(a);
    t.sent(b);
    t.sent(a); // werift's own resend of a buffer already in the flight
    expect(timers.map((x) => x.ms)).toEqual([50]);
    expect(fire()).toBe(50);
    expect(sent).toEqual(["hello-1", "hello-2"]);
    expect(fire()).toBe(100);
    expect(sent).toHaveLength(4);
    // the peer answered: no timer; werift's next send is a new flight from the first timeout
    t.received();
    expect(timers).toEqual([]);
    t.sent(Buffer.from("finished"));
    expect(timers.map((x) => x.ms)).toEqual([50]);
    fire();
    expect(sent.at(-1)).toBe("finished");
    expect(t.resent).toBe(3);
  });

  it("gives a flight up to werift after its resends, and stops at connect", () => {
    const { t, sent, timers, fire } = rig();
    t.sent(Buffer.from("x"));
    for (let i = 0; i < FLIGHT_MAX_RESENDS; i++) fire();
    expect(sent).toHaveLength(FLIGHT_MAX_RESENDS);
    expect(timers).toHaveLength(1);
    fire();
    expect(sent).toHaveLength(FLIGHT_MAX_RESENDS);
    expect(timers).toEqual([]);
    const other = rig();
    other.t.sent(Buffer.from("y"));
    other.t.end();
    expect(other.timers).toEqual([]);
    other.t.sent(Buffer.from("z"));
    expect(other.timers).toEqual([]);
  });

  it("a send that throws (the transport closed) ends it", () => {
    const timers: (() => void)[] = [];
    const t = new FlightTimer(
      () => {
        throw new Error("closed");
      },
      50,
      { setTimer: (fn) => timers.push(fn), clearTimer: () => undefined },
    );
    t.sent(Buffer.from("x"));
    timers.shift()?.();
    expect(t.resent).toBe(1);
    t.sent(Buffer.from("y"));
    expect(timers).toEqual([]);
  });
});

describe("iceRoundTripS: the round trip the first resend is timed from", () => {
  it("the nominated pair's, else the shortest a checked pair holds, else the shortest running mean", () => {
    expect(iceRoundTripS({ nominated: { rtt: 0.004 }, checkList: [{ rtt: 0.001 }] })).toBe(0.004);
    expect(iceRoundTripS({ nominated: {}, checkList: [{ rtt: 0.003 }, { rtt: 0.002 }, {}] })).toBe(0.002);
    // Karn's rule dropped the round trip of a pair whose check went out again: its mean is an upper bound
    const resent = { totalRoundTripTime: 0.104, roundTripTimeMeasurements: 2 };
    expect(
      iceRoundTripS({ checkList: [resent, { totalRoundTripTime: 0.3, roundTripTimeMeasurements: 1 }] }),
    ).toBe(0.052);
    expect(iceRoundTripS({ checkList: [{ roundTripTimeMeasurements: 0 }] })).toBeUndefined();
    expect(iceRoundTripS(undefined)).toBeUndefined();
  });
});

/** A werift DtlsClient as numberResendsAfresh sees it, on loopback (ICE round trip 1 ms), at `flight`. */
function client(flight?: number) {
  const wire: Buffer[] = [];
  const handled: unknown[][] = [];
  let connect: (() => void) | undefined;
  const c = {
    sessionType: 1,
    dtls: { epoch: 0, recordSequenceNumber: 0, ...(flight === undefined ? {} : { flight }) },
    cipher: {},
    transport: {
      send: (buf: Buffer) => {
        wire.push(buf);
      },
      socket: { ice: { nominated: { rtt: 0.001 } } },
    },
    onHandleHandshakes: (assembled: unknown[]) => {
      handled.push(assembled);
      return Promise.resolve();
    },
    onConnect: {
      once: (f: () => void) => {
        connect = f;
      },
    },
  };
  numberResendsAfresh(c);
  return { c, wire, handled, connected: () => connect?.() };
}

describe("numberResendsAfresh: the flight timer on a werift client", () => {
  it("resends an unanswered flight 50 ms on, numbered afresh; the peer's next handshake message ends it", () => {
    vi.useFakeTimers();
    try {
      const { c, wire, handled } = client();
      const hello = record(22, 0, 0, Buffer.from("0:client-hello"));
      c.transport.send(hello);
      expect(wire).toHaveLength(1);
      vi.advanceTimersByTime(49);
      expect(wire).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(wire).toHaveLength(2);
      expect(wire[1]?.readUIntBE(5, 6)).toBe(1);
      vi.advanceTimersByTime(100);
      expect(wire).toHaveLength(3);
      // the HelloVerifyRequest: handed on to werift, and the flight is answered
      void c.onHandleHandshakes([{ msg_type: 3 }]);
      expect(handled).toEqual([[{ msg_type: 3 }]]);
      vi.advanceTimersByTime(1000);
      expect(wire).toHaveLength(3);
      // a datagram with no handshake message in it (a ChangeCipherSpec) answers nothing
      c.transport.send(record(22, 0, 1, Buffer.from("1:finished")));
      void c.onHandleHandshakes([]);
      vi.advanceTimersByTime(50);
      expect(wire).toHaveLength(5);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops at connect and gives werift its own hooks back", () => {
    vi.useFakeTimers();
    try {
      const { c, wire, handled, connected } = client();
      const wrapped = c.onHandleHandshakes;
      c.transport.send(record(22, 0, 0, Buffer.from("0:flight-5")));
      connected();
      expect(c.onHandleHandshakes).not.toBe(wrapped);
      vi.advanceTimersByTime(1000);
      expect(wire).toHaveLength(1);
      void c.onHandleHandshakes([{ msg_type: 20 }]);
      expect(handled).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("handshakesToHandle: a second HelloVerifyRequest is not werift's to see", () => {
  const hvr = { msg_type: 3 };
  const serverHello = { msg_type: 2 };
  it("passes a HelloVerifyRequest before flight 3, drops one after (werift's flight 3 throws on it)", () => {
    expect(handshakesToHandle([hvr], 1)).toEqual([hvr]);
    expect(handshakesToHandle([hvr], undefined)).toEqual([hvr]);
    expect(handshakesToHandle([hvr], 3)).toEqual([]);
    expect(handshakesToHandle([hvr, serverHello], 5)).toEqual([serverHello]);
  });

  it("a dropped one neither reaches werift nor ends the flight being resent", () => {
    vi.useFakeTimers();
    try {
      const { c, wire, handled } = client(3);
      c.transport.send(record(22, 0, 0, Buffer.from("0:client-hello-with-cookie")));
      void c.onHandleHandshakes([hvr]);
      expect(handled).toEqual([]);
      vi.advanceTimersByTime(50);
      expect(wire).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
