import { describe, expect, it } from "vitest";
import {
  DurationError,
  describeValue,
  formatDuration,
  parseDuration,
  quoted,
  quotedPath,
} from "./duration.js";

describe("parseDuration", () => {
  it.each<[string | number, number]>([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1m30s", 90_000],
    ["250ms", 250],
    ["1.5s", 1500],
    ["2h0m5s", 7_205_000],
    ["1s500ms", 1500],
    [" 10s ", 10_000],
    ["45", 45_000],
    ["0", 0],
    [90, 90_000],
    [0.25, 250],
    [0, 0],
    ["168h", 604_800_000],
    ["167h59m59s999ms", 604_799_999],
  ])("%j is %i ms", (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each<[string | number, string]>([
    ["5x", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "5x"'],
    ["", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got ""'],
    ["5 min", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "5 min"'],
    ["1h30", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "1h30"'],
    ["s", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "s"'],
    ["-5s", 'expected a duration that is not negative, got "-5s"'],
    [-1, "expected a duration that is not negative, got -1"],
    ["99999h", 'expected a duration of at most 168h (a week), got "99999h"'],
    ["168h1ms", 'expected a duration of at most 168h (a week), got "168h1ms"'],
    ["1e308s", 'expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "1e308s"'],
    [
      "9".repeat(400) + "s",
      `expected a duration of at most 168h (a week), got "${"9".repeat(60)}"... (341 more characters)`,
    ],
    [1e308, "expected a duration of at most 168h (a week), got 1e+308"],
    [Number.POSITIVE_INFINITY, "expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got Infinity"],
  ])("rejects %j", (input, message) => {
    expect(() => parseDuration(input)).toThrow(new DurationError(message.split(", got ")[0] ?? "", input));
    expect(() => parseDuration(input)).toThrow(message);
  });

  it("carries a reason for journals", () => {
    try {
      parseDuration("soon");
    } catch (error) {
      expect(error).toBeInstanceOf(DurationError);
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({
        name: "DurationError",
        reason: "invalid-duration",
      });
      return;
    }
    throw new Error("parseDuration accepted soon");
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [250, "250ms"],
    [1500, "1.5s"],
    [30_000, "30s"],
    [90_000, "1m30s"],
    [5_400_000, "1h30m"],
    [3_600_000, "1h"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});

describe("quoted: a user's value in an error message", () => {
  it("quotes short text as written", () => {
    expect(quoted("5 rooms")).toBe('"5 rooms"');
  });

  it("cuts long text and says how much was left out", () => {
    const text = quoted("x".repeat(10_000));
    expect(text).toBe(`"${"x".repeat(60)}"... (9940 more characters)`);
  });

  it("escapes a right-to-left override and invisible characters, so the message reads as it is", () => {
    expect(quoted("room\u202egnp.exe\u200b")).toBe('"room\\u{202e}gnp.exe\\u{200b}"');
    expect(quoted("café")).toBe('"café"');
  });

  it("calls binary data binary instead of echoing it", () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString("utf8");
    expect(quoted(bytes)).toMatch(/^binary data \(\d+ characters\)$/);
  });

  it("escapes a control character in otherwise readable text", () => {
    expect(quoted("ro\u0007oms")).toBe('"ro\\u0007oms"');
  });

  it("quotedPath keeps a long path's end, where the file's name is", () => {
    expect(quotedPath("/tmp/summary.json")).toBe('"/tmp/summary.json"');
    const long = `/home/someone/projects/${"deep/".repeat(20)}scenarios/summary.json`;
    const text = quotedPath(long);
    expect(text).toContain('scenarios/summary.json"');
    expect(text).toBe(`(${Array.from(long).length - 60} characters before) ..."${long.slice(-60)}"`);
    expect(quotedPath(`/x/${"\u202e".repeat(70)}`)).toContain("\\u{202e}");
    expect(quotedPath("\u0001".repeat(100))).toBe("binary data (100 characters)");
  });

  it("counts one left-out character as one, not '1 characters'", () => {
    expect(quoted("x".repeat(61))).toBe(`"${"x".repeat(60)}"... (1 more character)`);
    expect(quotedPath(`/${"p".repeat(60)}`)).toBe(`(1 character before) ..."${"p".repeat(60)}"`);
  });

  it("describeValue uses it for strings", () => {
    expect(describeValue("y".repeat(100))).toContain("(40 more characters)");
  });
});
