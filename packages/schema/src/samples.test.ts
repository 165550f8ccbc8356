import { describe, expect, it } from "vitest";
import { CryptorReport, cannotDecrypt } from "./samples.js";

describe("cannotDecrypt", () => {
  it("decryption_failed and missing_key are what a reader cannot decrypt; no other state is but an internal error", () => {
    expect(cannotDecrypt("decryption_failed", "pub", "sub")).toBe(true);
    expect(cannotDecrypt("missing_key", "pub", "sub")).toBe(true);
    for (const state of ["new", "ok", "encryption_failed", "key_ratcheted", "unobservable", ""])
      expect(cannotDecrypt(state, "pub", "sub"), state).toBe(false);
  });

  it("an internal error on a remote publisher's frames drops them: cannot decrypt; on its own cryptor or nobody's, not", () => {
    expect(cannotDecrypt("internal_error", "pub", "sub")).toBe(true);
    // its own encryptor (or its key ratchet, as the engines say when ratcheting throws)
    expect(cannotDecrypt("internal_error", "sub", "sub")).toBe(false);
    // livekit-client's EncryptionError without a participant
    expect(cannotDecrypt("internal_error", "", "sub")).toBe(false);
  });
});

describe("CryptorReport", () => {
  /** The states `report` let through, in order, for a sequence of (from, state). */
  const reported = (changes: [string, string][]): string[] => {
    const report = new CryptorReport();
    return changes
      .filter(([from, state]) => report.report(from, state, "sub"))
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
    expect(report.report("a", "missing_key", "sub")).toBe(true);
    expect(report.report("a", "decryption_failed", "sub")).toBe(true);
    expect(report.report("b", "decryption_failed", "sub")).toBe(true);
    expect(report.report("b", "ok", "sub")).toBe(true);
    expect(report.failingFrom).toEqual(["a"]);
    expect(report.isFailing("a")).toBe(true);
    expect(report.isFailing("b")).toBe(false);
    // a failure's state changing to an internal error is said, and it still fails
    expect(report.report("a", "internal_error", "sub")).toBe(true);
    expect(report.isFailing("a")).toBe(true);
  });

  it("an internal error on a remote publisher's frames fails them until they decrypt again; its own cryptor's is said once and fails nothing", () => {
    expect(
      reported([
        ["pub", "internal_error"],
        ["pub", "internal_error"],
        ["pub", "ok"],
        ["sub", "internal_error"],
        ["sub", "internal_error"],
      ]),
    ).toEqual(["pub:internal_error", "pub:ok", "sub:internal_error"]);
    const report = new CryptorReport();
    report.report("sub", "internal_error", "sub");
    expect(report.failingFrom).toEqual([]);
  });
});
