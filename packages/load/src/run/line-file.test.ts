import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineFile, lineFileToRead } from "./line-file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lkswarm-lines-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("lineFile", () => {
  it("writes the same lines plain or gzip-compressed, readable as a whole once ended", async () => {
    const lines = Array.from(
      { length: 500 },
      (_, i) => `${JSON.stringify({ t: i, participant: `p${i % 7}` })}\n`,
    );
    for (const gzip of [false, true]) {
      const f = lineFile(join(dir, `samples-${String(gzip)}.jsonl`), gzip);
      for (const l of lines) f.write(l);
      expect(await f.end()).toBeUndefined();
      const bytes = readFileSync(f.path);
      expect((gzip ? gunzipSync(bytes) : bytes).toString("utf8")).toBe(lines.join(""));
    }
  });

  it("a file that cannot be written ends with its error instead of crashing the run", async () => {
    for (const gzip of [false, true]) {
      const f = lineFile(join(dir, "gone", "samples.jsonl"), gzip);
      f.write("{}\n");
      const err = await f.end();
      expect(err).toBeInstanceOf(Error);
      expect((err as NodeJS.ErrnoException).code).toBe("ENOENT");
    }
  });

  it("reads the .gz only when it alone is there, and refuses both forms", () => {
    const path = join(dir, "events.jsonl");
    expect(lineFileToRead(path)).toBe(path);
    writeFileSync(`${path}.gz`, "");
    expect(lineFileToRead(path)).toBe(`${path}.gz`);
    writeFileSync(path, "");
    expect(() => lineFileToRead(path)).toThrow(/are both there: a run writes one of them; remove the other$/);
  });
});
