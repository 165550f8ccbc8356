/**
 * Opus packets out of an Ogg file (RFC 3533 pages, RFC 7845 Opus mapping). Packets are split by the
 * lacing values of each page's segment table; a lacing value of 255 means the packet continues in
 * the next segment, possibly on the next page. The first two packets of an Ogg Opus stream are the
 * OpusHead and OpusTags headers, not audio.
 */
export class OggError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OggError";
  }
}

const CAPTURE = Buffer.from("OggS", "latin1");

/** Every packet of the first logical stream, in order, headers included. */
export function oggPackets(file: Uint8Array): Buffer[] {
  const data = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let serial: number | undefined;
  let offset = 0;
  while (offset < data.length) {
    if (data.length - offset < 27 || !data.subarray(offset, offset + 4).equals(CAPTURE))
      throw new OggError(`no Ogg page at byte ${offset} of ${data.length}`);
    const pageSerial = data.readUInt32LE(offset + 14);
    const segments = data[offset + 26] ?? 0;
    const tableEnd = offset + 27 + segments;
    if (tableEnd > data.length) throw new OggError(`truncated segment table at byte ${offset}`);
    let body = tableEnd;
    const pageEnd = tableEnd + sumOf(data.subarray(offset + 27, tableEnd));
    if (pageEnd > data.length) throw new OggError(`truncated page at byte ${offset}`);
    serial ??= pageSerial;
    if (pageSerial === serial) {
      for (let i = 0; i < segments; i++) {
        const lacing = data[offset + 27 + i] ?? 0;
        pending.push(data.subarray(body, body + lacing));
        body += lacing;
        if (lacing < 255) {
          packets.push(Buffer.concat(pending));
          pending = [];
        }
      }
    }
    offset = pageEnd;
  }
  return packets;
}

/** The audio packets of an Ogg Opus file: every packet after OpusHead and OpusTags. */
export function opusAudioPackets(file: Uint8Array): Buffer[] {
  const packets = oggPackets(file);
  const head = packets[0];
  if (head?.subarray(0, 8).toString("latin1") !== "OpusHead")
    throw new OggError("not an Ogg Opus stream: the first packet is not OpusHead");
  if (packets[1]?.subarray(0, 8).toString("latin1") !== "OpusTags")
    throw new OggError("not an Ogg Opus stream: the second packet is not OpusTags");
  return packets.slice(2);
}

/**
 * Duration of one Opus packet in 48 kHz samples, from its TOC byte (RFC 6716 3.1): the
 * configuration gives the frame size, the code (c) the number of frames.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const config = toc >> 3;
  const frame =
    config < 12
      ? [480, 960, 1920, 2880][config % 4]
      : config < 16
        ? [480, 960][config % 2]
        : [120, 240, 480, 960][config % 4];
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return (frame ?? 0) * frames;
}

function sumOf(bytes: Uint8Array): number {
  let total = 0;
  for (const b of bytes) total += b;
  return total;
}
