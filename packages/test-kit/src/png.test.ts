import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readPng } from "./png.js";

/** A PNG of `rows` (each row: filter byte, then RGB bytes), CRCs left zero (the reader skips them). */
function png(width: number, height: number, rows: number[][]): Buffer {
  const chunk = (type: string, body: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    return Buffer.concat([head, body, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.from(rows.flat()))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("readPng", () => {
  it("undoes each row filter of an RGB image into RGBA", () => {
    const image = png(2, 4, [
      [0, 10, 20, 30, 40, 50, 60], // none
      [1, 1, 2, 3, 5, 5, 5], // sub: second pixel = first + 5
      [2, 1, 1, 1, 1, 1, 1], // up
      [4, 0, 0, 0, 0, 0, 0], // paeth of a flat column: the pixel above
    ]);
    const { width, height, rgba } = readPng(image);
    expect([width, height]).toEqual([2, 4]);
    expect([...rgba]).toEqual([
      10, 20, 30, 255, 40, 50, 60, 255,
      1, 2, 3, 255, 6, 7, 8, 255,
      2, 3, 4, 255, 7, 8, 9, 255,
      2, 3, 4, 255, 7, 8, 9, 255,
    ]);
  });

  it("refuses what is not a PNG", () => {
    expect(() => readPng(Buffer.from("GIF89a"))).toThrow("not a PNG");
  });
});
