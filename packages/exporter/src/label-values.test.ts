import { describe, expect, it } from "vitest";
import { FreeTextLabel, OVERFLOW_VALUE, snakeCase } from "./label-values.js";

describe("snakeCase", () => {
  it.each([
    ["CLIENT_INITIATED", "client_initiated"],
    ["server-limit", "server_limit"],
    ["ClientInitiated", "client_initiated"],
    ["  worker died! ", "worker_died"],
    ["excellent", "excellent"],
    ["", "unknown"],
    ["---", "unknown"],
  ])("%j -> %j", (text, value) => {
    expect(snakeCase(text)).toBe(value);
  });

  it("keeps values short", () => {
    expect(snakeCase("x".repeat(200))).toHaveLength(64);
  });
});

describe("FreeTextLabel", () => {
  it("keeps the values it has seen and folds new ones past the limit into other", () => {
    const label = new FreeTextLabel(2);
    expect([label.valueOf("a"), label.valueOf("B"), label.valueOf("c"), label.valueOf("A")]).toEqual([
      "a",
      "b",
      OVERFLOW_VALUE,
      "a",
    ]);
  });
});
