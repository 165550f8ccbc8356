import { createSocket, type RemoteInfo } from "node:dgram";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import type { LeanMediaAddon } from "./native-media.js";
import { datagramArrivalMs, NativeReceiving } from "./native-receive.js";

/** Whether this machine is little-endian: lean-media.c writes records in the machine's order. */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A record of `bytes` bytes, `type` in its first byte, and a view to write its fields. */
function record(bytes: number, type: number): { b: Buffer; v: DataView } {
  const b = Buffer.alloc(bytes);
  b[0] = type;
  return { b, v: new DataView(b.buffer, b.byteOffset, b.byteLength) };
}

/** A batch as lean-media.c writes one (take_datagram): records in the machine's byte order, each 8-aligned. */
function batchOf(
  records: readonly (
    | {
        rtp: {
          id: number;
          ssrc: number;
          ts: number;
          seq: number;
          header: number;
          payload: number;
          wire: number;
          at: number;
          counted?: boolean;
        };
      }
    | { raw: { id: number; address: number; port: number; data: Buffer; at: number } }
  )[],
): Buffer {
  const parts = records.map((r) => {
    if ("rtp" in r) {
      const { b, v } = record(32, 1);
      b[1] = r.rtp.counted === true ? 1 : 0;
      v.setUint16(2, r.rtp.id, LE);
      v.setUint32(4, r.rtp.ssrc, LE);
      v.setUint32(8, r.rtp.ts, LE);
      v.setUint16(12, r.rtp.seq, LE);
      v.setUint16(14, r.rtp.header, LE);
      v.setUint32(16, r.rtp.payload, LE);
      v.setUint32(20, r.rtp.wire, LE);
      v.setFloat64(24, r.rtp.at, LE);
      return b;
    }
    const { b, v } = record(24 + ((r.raw.data.length + 7) & ~7), 2);
    v.setUint16(2, r.raw.id, LE);
    v.setUint32(4, r.raw.address, LE);
    v.setUint16(8, r.raw.port, LE);
    v.setUint16(10, r.raw.data.length, LE);
    v.setFloat64(16, r.raw.at, LE);
    r.raw.data.copy(b, 24);
    return b;
  });
  return Buffer.concat(parts);
}

describe("a native receive batch read in JavaScript", () => {
  it("hands each RTP record's fields to its socket's handler and each raw one to the socket's listeners with its arrival, aligned in memory or not", async () => {
    let deliver: ((batch: Buffer) => void) | undefined;
    const addon = {
      nowMs: () => performance.now(),
      onReceived: (fn: (batch: Buffer) => void) => {
        deliver = fn;
      },
      addReceiver: () => 7,
      start: () => undefined,
      removeReceiver: () => undefined,
    } as unknown as LeanMediaAddon;
    const receiving = new NativeReceiving(addon);
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    const rtp: (number | boolean)[][] = [];
    expect(receiving.take(socket, ["127.0.0.1", 9], { rtp: (...fields) => rtp.push(fields) })).toBe(7);
    const raw: { data: Buffer; from: RemoteInfo; arrival: number }[] = [];
    socket.on("message", (data: Buffer, from: RemoteInfo) =>
      raw.push({ data, from, arrival: datagramArrivalMs() }),
    );

    const stun = Buffer.from("0101000c2112a442 odd length!");
    const records = [
      {
        rtp: {
          id: 7,
          ssrc: 0xdeadbeef,
          ts: 0xfffffff0,
          seq: 65535,
          header: 16,
          payload: 80,
          wire: 112,
          at: 1234.5,
        },
      },
      { raw: { id: 7, address: 0x7f000001, port: 7882, data: stun, at: 1240.25 } },
      // counted by the thread: handed on for werift's rollover state only, and said so
      {
        rtp: { id: 7, ssrc: 1, ts: 2, seq: 3, header: 12, payload: 1, wire: 29, at: 1250.75, counted: true },
      },
      // another receiver's record: nobody's here, skipped
      { rtp: { id: 8, ssrc: 5, ts: 5, seq: 5, header: 12, payload: 5, wire: 33, at: 1260 } },
      { raw: { id: 7, address: 0x0a000102, port: 443, data: Buffer.alloc(0), at: 1270 } },
    ];
    const batch = batchOf(records);
    const offset = performance.now() - addon.nowMs();
    for (const [label, at] of [
      ["aligned", batch],
      // the same records 4 bytes into a buffer: copied to an aligned one before the typed views
      ["unaligned", Buffer.concat([Buffer.alloc(4), batch]).subarray(4)],
    ] as const) {
      rtp.length = 0;
      raw.length = 0;
      expect(at.byteOffset % 8 === 0, label).toBe(label === "aligned");
      deliver?.(at);
      expect(
        rtp.map((f) => f.slice(0, 6)),
        label,
      ).toEqual([
        [0xdeadbeef, 65535, 0xfffffff0, 16, 80, 112],
        [1, 3, 2, 12, 1, 29],
      ]);
      expect(rtp[0]?.[6], label).toBeCloseTo(1234.5 + offset, 0);
      expect(rtp[1]?.[6], label).toBeCloseTo(1250.75 + offset, 0);
      expect(
        rtp.map((f) => f[7]),
        label,
      ).toEqual([false, true]);
      expect(
        raw.map((r) => [r.data, r.from.address, r.from.port, r.from.size]),
        label,
      ).toEqual([
        [stun, "127.0.0.1", 7882, stun.length],
        [Buffer.alloc(0), "10.0.1.2", 443, 0],
      ]);
      expect(raw[0]?.arrival, label).toBeCloseTo(1240.25 + offset, 0);
      expect(raw[1]?.arrival, label).toBeCloseTo(1270 + offset, 0);
    }
    // a record cut short ends the batch's reading, not the process
    expect(() => deliver?.(batch.subarray(0, 40))).not.toThrow();
    receiving.release(7);
    // a batch the thread read before the release still reaches the handler (werift's rollover
    // state must see its packets)
    rtp.length = 0;
    deliver?.(
      batchOf([
        { rtp: { id: 7, ssrc: 1, ts: 2, seq: 0, header: 12, payload: 1, wire: 29, at: 1300, counted: true } },
      ]),
    );
    expect(rtp.map((f) => f.slice(0, 2))).toEqual([[1, 0]]);
    socket.close();
  });
});
