import { describe, expect, it } from "vitest";
import { KnownError } from "./known-error.js";

class DemoError extends KnownError<"one" | "two"> {
  override readonly name = "DemoError";
}

describe("KnownError", () => {
  it("carries the subclass's name, the reason and the message, and keeps the cause", () => {
    const cause = new Error("ECONNREFUSED");
    const err = new DemoError("two", "cannot reach ws://127.0.0.1:7880 - pass --url", { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("DemoError");
    expect(err.reason).toBe("two");
    expect(err.cause).toBe(cause);
    expect(String(err)).toBe("DemoError: cannot reach ws://127.0.0.1:7880 - pass --url");
  });

  it("is one JSON object of name, reason and message for journals", () => {
    const err = new DemoError("one", "bad input");
    expect(JSON.parse(JSON.stringify({ error: err }))).toEqual({
      error: { name: "DemoError", reason: "one", message: "bad input" },
    });
  });
});
