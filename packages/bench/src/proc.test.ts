import { describe, expect, it } from "vitest";
import { threadLabel } from "./proc.js";

describe("threadLabel", () => {
  it("names a process's main thread as its JS thread", () => {
    expect(threadLabel(42, 42, "node")).toBe("main (JS)");
  });

  it("folds numbered pool threads into one group, keeping unnumbered names", () => {
    expect(threadLabel(42, 43, "tokio-rt-worker")).toBe("tokio-rt-worker");
    expect(threadLabel(42, 44, "libuv-worker-12")).toBe("libuv-worker");
    expect(threadLabel(42, 45, "V8Worker#3")).toBe("V8Worker");
    expect(threadLabel(42, 46, "7")).toBe("7");
  });
});
