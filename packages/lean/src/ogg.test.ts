import { describe, expect, it } from "vitest";
import { OggError, oggPackets, opusAudioPackets, opusPacketSamples } from "./ogg.js";

/** One Ogg page of the given packets (no CRC: the parser does not check it). */
function page(serial: number, packets: Buffer[], continued = false): Buffer {
  const lacing: number[] = [];
  for (const p of packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (continued) lacing.pop(); // the last packet goes on in the next page
  const header = Buffer.alloc(27);
  header.write("OggS", 0, "latin1");
  header.writeUInt32LE(serial, 14);
  header[26] = lacing.length;
  const body = Buffer.concat(packets);
  return Buffer.concat([header, Buffer.from(lacing), continued ? body : body]);
}

const head = Buffer.concat([Buffer.from("OpusHead", "latin1"), Buffer.alloc(11)]);
const tags = Buffer.concat([Buffer.from("OpusTags", "latin1"), Buffer.alloc(8)]);

describe("oggPackets", () => {
  it("splits pages into packets by their lacing values, a 255 run included", () => {
    const big = Buffer.alloc(600, 7);
    const file = Buffer.concat([page(1, [head]), page(1, [tags]), page(1, [Buffer.from([1, 2]), big])]);
    const packets = oggPackets(file);
    expect(packets.map((p) => p.length)).toEqual([19, 16, 2, 600]);
    expect(packets[3]?.every((b) => b === 7)).toBe(true);
  });

  it("joins a packet continued on the next page", () => {
    const first = Buffer.alloc(255, 1);
    const rest = Buffer.alloc(10, 2);
    const a = page(1, [first], true);
    const b = page(1, [rest]);
    const packets = oggPackets(Buffer.concat([a, b]));
    expect(packets.map((p) => p.length)).toEqual([265]);
  });

  it("keeps only the first logical stream", () => {
    const file = Buffer.concat([
      page(1, [Buffer.from([1])]),
      page(2, [Buffer.from([2])]),
      page(1, [Buffer.from([3])]),
    ]);
    expect(oggPackets(file).map((p) => p[0])).toEqual([1, 3]);
  });

  it("refuses what is not Ogg, and truncated pages, naming the byte", () => {
    expect(() => oggPackets(Buffer.from("RIFF0000000000000000000000000000"))).toThrow(
      /no Ogg page at byte 0/,
    );
    const whole = page(1, [Buffer.alloc(50)]);
    expect(() => oggPackets(whole.subarray(0, whole.length - 1))).toThrow(OggError);
  });
});

describe("opusAudioPackets", () => {
  it("drops OpusHead and OpusTags", () => {
    const file = Buffer.concat([page(1, [head]), page(1, [tags]), page(1, [Buffer.from([0x78, 1])])]);
    expect(opusAudioPackets(file)).toEqual([Buffer.from([0x78, 1])]);
  });

  it("refuses a stream that does not start with OpusHead", () => {
    expect(() => opusAudioPackets(page(1, [tags]))).toThrow(/OpusHead/);
  });
});

describe("opusPacketSamples", () => {
  it("reads the frame size and count from the TOC byte", () => {
    expect(opusPacketSamples(Buffer.from([(31 << 3) | 0]))).toBe(960); // CELT FB 20 ms, 1 frame
    expect(opusPacketSamples(Buffer.from([(1 << 3) | 0]))).toBe(960); // SILK NB 20 ms
    expect(opusPacketSamples(Buffer.from([(13 << 3) | 1]))).toBe(1920); // hybrid 20 ms, 2 frames
    expect(opusPacketSamples(Buffer.from([(30 << 3) | 3, 3]))).toBe(1440); // CELT FB 10 ms x 3
    expect(opusPacketSamples(Buffer.alloc(0))).toBe(0);
  });
});
