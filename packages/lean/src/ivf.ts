/**
 * Frames out of an IVF file, the container ffmpeg writes libvpx output into: a 32-byte file header
 * ("DKIF", version, header size, fourcc, width, height, time base) and per frame a 12-byte header
 * (size, 64-bit presentation time) followed by the frame. All integers little-endian.
 */
export class IvfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IvfError";
  }
}

export interface IvfFile {
  /** "VP80", "VP90", "AV01". */
  readonly fourcc: string;
  readonly width: number;
  readonly height: number;
  readonly frames: readonly Buffer[];
}

const SIGNATURE = Buffer.from("DKIF", "latin1");
const FRAME_HEADER = 12;

export function parseIvf(file: Uint8Array): IvfFile {
  const data = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (data.length < 32 || !data.subarray(0, 4).equals(SIGNATURE))
    throw new IvfError(`not an IVF file (${data.length} bytes, no DKIF signature)`);
  const headerSize = data.readUInt16LE(6);
  if (headerSize < 32 || headerSize > data.length) throw new IvfError(`bad IVF header size ${headerSize}`);
  const frames: Buffer[] = [];
  let offset = headerSize;
  while (offset < data.length) {
    if (data.length - offset < FRAME_HEADER) throw new IvfError(`truncated frame header at byte ${offset}`);
    const size = data.readUInt32LE(offset);
    const start = offset + FRAME_HEADER;
    if (start + size > data.length)
      throw new IvfError(`frame ${frames.length} at byte ${offset} claims ${size} bytes, past the end`);
    frames.push(data.subarray(start, start + size));
    offset = start + size;
  }
  return {
    fourcc: data.toString("latin1", 8, 12),
    width: data.readUInt16LE(12),
    height: data.readUInt16LE(14),
    frames,
  };
}
