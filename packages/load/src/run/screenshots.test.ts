import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isScreenshotName, listScreenshots, screenshotName } from "./screenshots.js";

describe("screenshot names", () => {
  it("are <room>--<identity>.png for the names prefixes allow", () => {
    expect(screenshotName({ room: "lkswarm-room-1", identity: "lkswarm-sub-3" })).toBe(
      "lkswarm-room-1--lkswarm-sub-3.png",
    );
  });

  it.each([
    ["../../etc", "x", "_._.._etc--x.png"],
    ["r", "a/b\u0000c", "r--a_b_c.png"],
    [".hidden", "..", "_hidden--_..png"],
    ["r m", "ü", "r_m--_.png"],
  ])("make %j / %j one safe file name", (room, identity, name) => {
    const made = screenshotName({ room, identity });
    expect(made).toBe(name);
    expect(made).not.toContain("/");
    expect(isScreenshotName(made)).toBe(true);
  });

  it("lists only the names it makes, sorted, relative to the output folder", async () => {
    const out = mkdtempSync(join(tmpdir(), "lkswarm-shots-"));
    expect(await listScreenshots(out)).toEqual([]);
    mkdirSync(join(out, "screenshots"));
    for (const n of ["r2--b.png", "r1--a.png", ".r1--a.png", "notes.txt", "r1-a.png"])
      writeFileSync(join(out, "screenshots", n), "x");
    expect(await listScreenshots(out)).toEqual(["screenshots/r1--a.png", "screenshots/r2--b.png"]);
  });
});
