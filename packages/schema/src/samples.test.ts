import { describe, expect, it } from "vitest";
import { CryptorReport, cannotDecrypt } from "./samples.js";

describe("cannotDecrypt", () => {
  it("decryption_failed and missing_key are what a reader cannot decrypt; no other state is", () => {
    expect(cannotDecrypt("decryption_failed")).toBe(true);
    expect(cannotDecrypt("missing_key")).toBe(true);
    for (const state of [
      "new",
      "ok",
      "encryption_failed",
      "key_ratcheted",
      "internal_error",
      "unobservable",
      "",
    ])
      expect(cannotDecrypt(state), state).toBe(false);
  });
});

describe("CryptorReport", () => {
  /** The states `report` let through, in order, for a sequence of (from, state). */
  const reported = (changes: [string, string][]): string[] => {
    const report = new CryptorReport();
    return changes
      .filter(([from, state]) => report.report(from, state))
      .map(([from, state]) => `${from}:${state}`);
  };

  it("a wrong key: one failure however often the cryptor says it, no recovery", () => {
    expect(
      reported([
        ["pub", "new"],
        ["pub", "decryption_failed"],
        ["pub", "decryption_failed"],
        ["pub", "decryption_failed"],
      ]),
    ).toEqual(["pub:new", "pub:decryption_failed"]);
  });

  it("a failure and its recovery are both said, each time; ok without a failure only once", () => {
    expect(
      reported([
        ["pub", "ok"],
        ["pub", "ok"],
        ["pub", "decryption_failed"],
        ["pub", "ok"],
        ["pub", "ok"],
        ["pub", "decryption_failed"],
        ["pub", "key_ratcheted"],
        ["pub", "key_ratcheted"],
      ]),
    ).toEqual(["pub:ok", "pub:decryption_failed", "pub:ok", "pub:decryption_failed", "pub:key_ratcheted"]);
  });

  it("a failure's state changing (a missing key, then a wrong one) is said; publishers are apart", () => {
    const report = new CryptorReport();
    expect(report.report("a", "missing_key")).toBe(true);
    expect(report.report("a", "decryption_failed")).toBe(true);
    expect(report.report("b", "decryption_failed")).toBe(true);
    expect(report.report("b", "ok")).toBe(true);
    expect(report.failingFrom).toEqual(["a"]);
    expect(report.isFailing("a")).toBe(true);
    expect(report.isFailing("b")).toBe(false);
    // an internal error neither fails nor recovers a publisher's frames
    expect(report.report("a", "internal_error")).toBe(true);
    expect(report.isFailing("a")).toBe(true);
  });
});
