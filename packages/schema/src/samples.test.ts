import { describe, expect, it } from "vitest";
import { cannotDecrypt } from "./samples.js";

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
