import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ResultsError } from "../errors.js";
import {
  LISTING_FORMAT,
  filePath,
  isResultName,
  parseListing,
  printable,
  resultPath,
  textAtMost,
  type ListingLimits,
} from "./listing.js";

const SHA = "a".repeat(64);
const shard: ListingLimits = { nested: false, maxBytes: 1000, room: "the test allows" };
const merged: ListingLimits = { ...shard, nested: true };

function listing(files: readonly unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ format: LISTING_FORMAT, state: "ready", exitCode: 0, files, ...extra });
}

function refusal(text: string, limits: ListingLimits = shard): string {
  try {
    parseListing(text, limits, "shard 1 (10.0.0.5:9464)");
  } catch (err) {
    expect(err).toBeInstanceOf(ResultsError);
    const message = (err as ResultsError).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error("accepted");
}

describe("parseListing", () => {
  it("reads a shard's ready listing, and a running one with no files", () => {
    expect(
      parseListing(
        listing([{ name: "samples.jsonl", size: 12, sha256: SHA }], { status: "done", exitCode: 99 }),
        shard,
        "s",
      ),
    ).toEqual({
      format: LISTING_FORMAT,
      state: "ready",
      exitCode: 99,
      status: "done",
      files: [{ name: "samples.jsonl", size: 12, sha256: SHA }],
    });
    expect(
      parseListing(JSON.stringify({ format: LISTING_FORMAT, state: "running", files: [] }), shard, "s").state,
    ).toBe("running");
  });

  it("takes shard-I/<file> only from a merge's listing", () => {
    const text = listing([{ name: "shard-12/events.jsonl", size: 1, sha256: SHA }]);
    expect(parseListing(text, merged, "m").files[0]?.name).toBe("shard-12/events.jsonl");
    expect(refusal(text)).toMatch(/names a file "shard-12\/events.jsonl", which is not a plain file name/);
  });

  it("refuses every name that could reach outside the folder, naming it", () => {
    for (const name of [
      "../shard.json",
      "..",
      ".",
      "/etc/passwd",
      "a/b",
      "shard-1/../../x",
      "shard-1/.hidden",
      "shard-01/x",
      "shard-1//x",
      "shard-1/",
      "x\\..\\y",
      "x\ny",
      "",
      "a".repeat(129),
    ]) {
      const message = refusal(listing([{ name, size: 1, sha256: SHA }]), merged);
      expect(message, name).toMatch(/^shard 1 \(10\.0\.0\.5:9464\): the results listing names a file/);
      expect(message).toMatch(/refused/);
    }
  });

  it("refuses sizes that are not whole byte counts, bad hashes and duplicates", () => {
    for (const size of [-1, 1.5, "12", 2 ** 53, null])
      expect(refusal(listing([{ name: "a", size, sha256: SHA }]))).toMatch(/size that is not a whole number/);
    for (const sha256 of ["A".repeat(64), "a".repeat(63), 5])
      expect(refusal(listing([{ name: "a", size: 1, sha256 }]))).toMatch(/sha256 that is not 64 lowercase/);
    expect(
      refusal(
        listing([
          { name: "a", size: 1, sha256: SHA },
          { name: "a", size: 1, sha256: SHA },
        ]),
      ),
    ).toMatch(/lists "a" twice/);
  });

  it("refuses files adding up to more than there is room for, as too-big", () => {
    const text = listing([
      { name: "a", size: 600, sha256: SHA },
      { name: "b", size: 600, sha256: SHA },
    ]);
    expect(refusal(text)).toMatch(/add up to 0\.00 GiB, more than the 0\.00 GiB the test allows; refused/);
    try {
      parseListing(text, shard, "s");
    } catch (err) {
      expect((err as ResultsError).reason).toBe("too-big");
    }
  });

  it("refuses what is not a listing: no JSON, another format, bad state or exit code, a verdict with control characters", () => {
    expect(refusal("<html>")).toMatch(/is not JSON/);
    expect(refusal(JSON.stringify({ format: "other", files: [] }))).toMatch(
      /format livekit-swarm-results\/1/,
    );
    expect(refusal(listing([], { state: "done" }))).toMatch(/state "done"/);
    expect(refusal(listing([], { exitCode: 256 }))).toMatch(/exit code/);
    expect(refusal(listing([], { exitCode: undefined }))).toMatch(/ready without an exit code/);
    expect(refusal(listing([], { verdict: "pass\u001b[2J" }))).toMatch(/one printable line/);
    expect(refusal(listing([], { verdict: "a\nb" }))).toMatch(/one printable line/);
    expect(refusal(listing([], { status: "Done; rm" }))).toMatch(/status/);
    expect(
      refusal(
        JSON.stringify({
          format: LISTING_FORMAT,
          state: "running",
          files: [{ name: "a", size: 1, sha256: SHA }],
        }),
      ),
    ).toMatch(/lists files while running/);
    expect(refusal(listing(Array(10_001).fill({ name: "a", size: 1, sha256: SHA })))).toMatch(
      /more than 10000 files/,
    );
  });
});

describe("names and paths", () => {
  it("places a checked name under the folder, and refuses an unchecked one before it reaches a path", () => {
    expect(resultPath("/results", "shard-3/samples.jsonl", true)).toBe("/results/shard-3/samples.jsonl");
    expect(() => resultPath("/results", "../x", true)).toThrow(ResultsError);
    expect(() => resultPath("/results", "shard-3/x", false)).toThrow(/not a result file's name/);
    expect(isResultName("report.html", false)).toBe(true);
    expect(isResultName("shard-10000/x", true)).toBe(false);
  });

  it("strips what a terminal would act on from a server's words", () => {
    expect(printable("Error\u001b[2J from\u0007 server\u2028 (NotFound)\r", 300)).toBe(
      "Error[2J from server (NotFound)",
    );
    expect(printable("x".repeat(500), 300)).toHaveLength(300);
  });

  it("escapes each part of a name in its URL", () => {
    expect(filePath("shard-2/summary.json")).toBe("/results/shard-2/summary.json");
  });
});

describe("textAtMost", () => {
  const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

  it("reads a body up to the cap and refuses one longer without holding it", async () => {
    expect(await textAtMost(chunks("ab", "cd"), 4, "s")).toBe("abcd");
    await expect(textAtMost(chunks("ab", "cde"), 4, "shard 2")).rejects.toThrow(
      /^shard 2: the results listing is over 4 bytes/,
    );
  });
});
