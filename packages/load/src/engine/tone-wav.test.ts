import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { toneWav } from "./browser.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("toneWav", () => {
  it("makes one file when many participants of one worker ask for the same tone at once, leaving no partial file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tone-wav-"));
    dirs.push(dir);
    // a fresh cache: every subscriber (publisher index -1, the first tone) asks in the same tick
    const files = await Promise.all(Array.from({ length: 8 }, () => toneWav(0, dir)));
    expect(new Set(files).size).toBe(1);
    expect(readdirSync(dir)).toEqual(["tone-300hz.wav"]);
    // a WAV: 44-byte header, then one second of 16-bit mono at 48 kHz
    expect(readFileSync(files[0] ?? "").length).toBe(44 + 2 * 48_000);
  });
});
