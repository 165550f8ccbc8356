import { describe, expect, it } from "vitest";
import {
  NACK_MAX_AGE,
  NACK_MAX_MISSING,
  NACK_MAX_TRIES,
  NACK_RESEND_MS,
  NackGenerator,
} from "./nack-generator.js";

/** A generator on a hand-driven clock: `advance` fires what falls due, as the event loop would. */
function harness() {
  let now = 0;
  const sent: number[][] = [];
  const ssrcs: number[] = [];
  let timer: { at: number; fn: () => void } | undefined;
  const generator = new NackGenerator({
    send: (ssrc, lost) => {
      ssrcs.push(ssrc);
      sent.push([...lost]);
    },
    now: () => now,
    setTimer: (fn, ms) => (timer = { at: now + ms, fn }),
    clearTimer: () => (timer = undefined),
  });
  const packet = (sequenceNumber: number, ssrc = 7) => {
    generator.addPacket({ header: { sequenceNumber, ssrc } });
  };
  const advance = (ms: number) => {
    const until = now + ms;
    while (timer !== undefined && timer.at <= until) {
      const t = timer;
      timer = undefined;
      now = t.at;
      t.fn();
    }
    now = until;
  };
  return { generator, sent, ssrcs, packet, advance, armed: () => timer !== undefined };
}

describe("NackGenerator", () => {
  it("NACKs a gap on the packet that reveals it, and nothing while packets come in order", () => {
    const h = harness();
    for (const s of [100, 101, 102]) h.packet(s);
    expect(h.sent).toEqual([]);
    h.packet(105);
    expect(h.sent).toEqual([[103, 104]]);
    expect(h.generator.outstanding).toBe(2);
  });

  it("resends an unrepaired loss every NACK_RESEND_MS, at most NACK_MAX_TRIES NACKs in all, then gives it up", () => {
    const h = harness();
    h.packet(1);
    h.packet(3);
    h.advance(NACK_RESEND_MS - 1);
    expect(h.sent).toEqual([[2]]);
    h.advance(NACK_RESEND_MS * 20);
    expect(h.sent).toEqual(Array.from({ length: NACK_MAX_TRIES }, () => [2]));
    expect(h.generator.outstanding).toBe(0);
    expect(h.armed()).toBe(false);
  });

  it("stops NACKing a repaired packet (a retransmission's original sequence number), and disarms when none is left", () => {
    const h = harness();
    h.packet(10);
    h.packet(13);
    h.packet(11);
    h.advance(NACK_RESEND_MS);
    expect(h.sent).toEqual([[11, 12], [12]]);
    h.packet(12);
    h.advance(NACK_RESEND_MS * 5);
    expect(h.sent).toHaveLength(2);
    expect(h.armed()).toBe(false);
  });

  it("keeps NACKing across a sequence wrap, the wrap's own packet lost (werift's stops for 65,536 packets)", () => {
    const h = harness();
    h.packet(65533);
    h.packet(65534);
    h.packet(0);
    expect(h.sent).toEqual([[65535]]);
    h.packet(1);
    h.packet(3);
    expect(h.sent).toEqual([[65535], [2]]);
    h.packet(65535);
    h.packet(2);
    expect(h.generator.outstanding).toBe(0);
  });

  it("takes a late packet from before the newest as a repair or nothing, never as a jump forward", () => {
    const h = harness();
    h.packet(5000);
    h.packet(4990);
    h.packet(5001);
    expect(h.sent).toEqual([]);
  });

  it("starts anew on another SSRC (a transceiver given the next publication): its own gaps NACKed, below or above the old newest, the old losses dropped", () => {
    const below = harness();
    below.packet(5000);
    below.packet(5002);
    expect(below.sent).toEqual([[5001]]);
    // the new stream's base lies below the old newest: its packets are not late ones, its gap is NACKed
    below.packet(100, 9);
    below.packet(101, 9);
    below.packet(103, 9);
    expect(below.sent).toEqual([[5001], [102]]);
    expect(below.ssrcs).toEqual([7, 9]);
    below.packet(102, 9);
    below.advance(NACK_RESEND_MS * NACK_MAX_TRIES);
    // 5001 of the old stream was given up at the change, 102 repaired: nothing more
    expect(below.sent).toEqual([[5001], [102]]);
    const above = harness();
    above.packet(100);
    // 300 ahead of the old newest: no gap of the new stream's
    above.packet(400, 9);
    above.packet(401, 9);
    expect(above.sent).toEqual([]);
  });

  it("keeps at most NACK_MAX_MISSING losses across gaps, the newest", () => {
    const h = harness();
    h.packet(0);
    h.packet(601);
    h.packet(1202);
    expect(h.sent.map((l) => l.length)).toEqual([600, 600]);
    expect(h.generator.outstanding).toBe(NACK_MAX_MISSING);
    h.advance(NACK_RESEND_MS);
    // 1-600 and 602-1201 went missing; the oldest 200 were dropped
    expect(h.sent[2]?.[0]).toBe(201);
    expect(h.sent[2]).toHaveLength(NACK_MAX_MISSING);
  });

  it("NACKs nothing for a gap wider than NACK_MAX_MISSING, and drops what was outstanding", () => {
    const h = harness();
    h.packet(0);
    h.packet(2);
    h.packet(NACK_MAX_MISSING + 4);
    expect(h.sent).toEqual([[1]]);
    expect(h.generator.outstanding).toBe(0);
    h.packet(NACK_MAX_MISSING + 6);
    expect(h.sent).toEqual([[1], [NACK_MAX_MISSING + 5]]);
  });

  it("gives up a loss NACK_MAX_AGE packets behind the newest", () => {
    const h = harness();
    h.packet(0);
    h.packet(2);
    for (let s = 3; s <= NACK_MAX_AGE + 1; s++) h.packet(s);
    expect(h.generator.outstanding).toBe(1);
    h.packet(NACK_MAX_AGE + 3);
    expect(h.generator.outstanding).toBe(1);
    expect(h.sent.at(-1)).toEqual([(NACK_MAX_AGE + 2) & 0xffff]);
  });

  it("does nothing once closed", () => {
    const h = harness();
    h.packet(1);
    h.packet(3);
    h.generator.close();
    expect(h.armed()).toBe(false);
    h.packet(6);
    h.advance(NACK_RESEND_MS * 3);
    expect(h.sent).toEqual([[2]]);
  });
});
