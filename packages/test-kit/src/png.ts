import { inflateSync } from "node:zlib";

/** A decoded PNG: RGBA, 8 bits a channel, rows top to bottom. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/**
 * Decodes the PNGs Chromium's screenshots are: 8-bit RGB or RGBA, not interlaced. Enough for tests
 * to check what a page shows by its pixels, without an image library.
 */
export function readPng(png: Buffer): Pixels {
  if (png.toString("latin1", 1, 4) !== "PNG") throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("latin1", offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, color, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      channels = color === 6 ? 4 : color === 2 ? 3 : 0;
      if (depth !== 8 || channels === 0 || interlace !== 0)
        throw new Error(`PNG: only 8-bit RGB/RGBA without interlace, got depth ${depth} color ${color}`);
    } else if (type === "IDAT") data.push(body);
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const byte = raw[y * (stride + 1) + 1 + x] ?? 0;
      const left = x >= channels ? (rows[y * stride + x - channels] ?? 0) : 0;
      const up = y > 0 ? (rows[(y - 1) * stride + x] ?? 0) : 0;
      const upLeft = y > 0 && x >= channels ? (rows[(y - 1) * stride + x - channels] ?? 0) : 0;
      let predicted = 0;
      if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      rows[y * stride + x] = (byte + predicted) & 0xff;
    }
  }
  if (channels === 4) return { width, height, rgba: rows };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(rows.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  return { width, height, rgba };
}

/** What an image shows beyond its plain background: a page's video boxes, a chart's lines. */
export interface Drawn {
  /** Pixels further than 12 (summed over R, G, B) from the background colour. */
  readonly drawn: number;
  /** Distinct grey levels (luma, 0-255): a uniform box or a blank page has a handful. */
  readonly levels: number;
  /** Saturated pixels (max minus min channel over 60): coloured lines, not grey text or grids. */
  readonly coloured: number;
}

export function drawnPixels(p: Pixels, background: readonly [number, number, number]): Drawn {
  let drawn = 0;
  let coloured = 0;
  const levels = new Set<number>();
  for (let i = 0; i < p.width * p.height; i++) {
    const [r, g, b] = [p.rgba[4 * i] ?? 0, p.rgba[4 * i + 1] ?? 0, p.rgba[4 * i + 2] ?? 0];
    if (Math.abs(r - background[0]) + Math.abs(g - background[1]) + Math.abs(b - background[2]) > 12) drawn++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    levels.add(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  }
  return { drawn, levels: levels.size, coloured };
}
