/**
 * Capture time and frame number written into a video frame's luma plane as large black/white blocks,
 * so that a decoding subscriber can measure end-to-end latency and detect stalls from the pixels
 * alone. Blocks are 16 rows tall and width/BITS wide: big enough to survive lossy VP8/H.264 encoding
 * at low bitrates, where single pixels would not.
 *
 * Layout (64 bits, one row of blocks): 8-bit sync pattern 0b10110010, 40-bit capture time in ms
 * (wraps every ~35 years), 8-bit frame counter, 8-bit checksum (XOR of the 6 payload bytes).
 */
export const STAMP_BITS = 64;
export const STAMP_ROWS = 16;
const SYNC = 0b10110010;
const BLACK = 16;
const WHITE = 235;

export interface Stamp {
  readonly captureTimeMs: number;
  readonly frame: number;
}

function payloadBytes(stamp: Stamp): number[] {
  const t = Math.floor(stamp.captureTimeMs) % 2 ** 40;
  const bytes = [SYNC];
  for (let i = 4; i >= 0; i--) bytes.push(Math.floor(t / 2 ** (8 * i)) % 256);
  bytes.push(stamp.frame % 256);
  bytes.push(bytes.slice(1).reduce((a, b) => a ^ b, 0));
  return bytes;
}

/** Writes the stamp into the top STAMP_ROWS rows of an I420 (or any planar, luma-first) frame. */
export function writeStamp(luma: Uint8Array, width: number, stamp: Stamp): void {
  const blockWidth = Math.floor(width / STAMP_BITS);
  if (blockWidth < 2) throw new Error(`frame width ${width} is too narrow for a ${STAMP_BITS}-bit stamp`);
  const bits = payloadBytes(stamp).flatMap((byte) =>
    Array.from({ length: 8 }, (_, i) => (byte >> (7 - i)) & 1),
  );
  for (let row = 0; row < STAMP_ROWS; row++) {
    const base = row * width;
    for (let bit = 0; bit < STAMP_BITS; bit++) {
      luma.fill(bits[bit] === 1 ? WHITE : BLACK, base + bit * blockWidth, base + (bit + 1) * blockWidth);
    }
  }
}

/**
 * Reads a stamp back by averaging the centre of each block (edges blur under compression and
 * scaling). Returns undefined when sync or checksum do not match: a frame that is not ours, or one
 * too damaged to trust. `width` is the decoded frame's width, which may differ from the sent one
 * when the SFU forwards a lower simulcast layer or the sender's encoder scaled down (a browser does
 * under a low bandwidth estimate: 640 wide sent as 480). Blocks are read at width/64 exactly, not
 * rounded down: a stamp written across the whole width (every preset width is a multiple of 64) keeps
 * its blocks at any scale, where whole-pixel blocks drift off by the 64th bit (7 px for 7.5 px blocks).
 */
export function readStamp(luma: Uint8Array, width: number, height: number): Stamp | undefined {
  const blockWidth = width / STAMP_BITS;
  const rows = Math.max(2, Math.round((STAMP_ROWS * height) / 360));
  if (blockWidth < 2 || height < rows) return undefined;
  const bytes: number[] = [];
  let current = 0;
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    let sum = 0;
    let count = 0;
    const x0 = Math.ceil(bit * blockWidth + blockWidth / 4);
    const x1 = Math.floor((bit + 1) * blockWidth - blockWidth / 4);
    for (let row = Math.floor(rows / 4); row < rows - Math.floor(rows / 4); row++) {
      for (let x = x0; x < x1; x++) {
        sum += luma[row * width + x] ?? 0;
        count++;
      }
    }
    current = (current << 1) | (sum / Math.max(1, count) > (BLACK + WHITE) / 2 ? 1 : 0);
    if (bit % 8 === 7) {
      bytes.push(current);
      current = 0;
    }
  }
  if (bytes[0] !== SYNC) return undefined;
  const checksum = bytes.slice(1, 7).reduce((a, b) => a ^ b, 0);
  if (checksum !== bytes[7]) return undefined;
  let t = 0;
  for (let i = 1; i <= 5; i++) t = t * 256 + (bytes[i] ?? 0);
  return { captureTimeMs: t, frame: bytes[6] ?? 0 };
}

/** Restores a 40-bit capture time to the full epoch-ms value closest to `nowMs`. */
export function unwrapCaptureTime(wrapped: number, nowMs: number): number {
  const period = 2 ** 40;
  const base = nowMs - (nowMs % period);
  const candidates = [base - period + wrapped, base + wrapped, base + period + wrapped];
  return candidates.reduce((best, c) => (Math.abs(c - nowMs) < Math.abs(best - nowMs) ? c : best));
}
