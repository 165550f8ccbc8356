import { describe, expect, it } from "vitest";
import { ExitCode, exitCodeForSignal } from "./exit-codes.js";

describe("ExitCode", () => {
  it("holds the README's codes, each meaning once", () => {
    expect(Object.values(ExitCode)).toEqual([0, 1, 2, 3, 99, 130, 143]);
  });

  it("maps a signal to 128 + its number, as shells do", () => {
    expect(exitCodeForSignal("SIGINT")).toBe(128 + 2);
    expect(exitCodeForSignal("SIGTERM")).toBe(128 + 15);
  });
});
