import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitFor } from "@livekit-swarm/test-kit";
import { FileTail, LineSplitter, PointsReader } from "./points-tail.js";

describe("LineSplitter", () => {
  it("hands over complete lines only and keeps the unfinished one for the next chunk", () => {
    const s = new LineSplitter();
    expect(s.push("a\nb")).toEqual(["a"]);
    expect(s.push("c")).toEqual([]);
    expect(s.push("d\n\ne\n")).toEqual(["bcd", "", "e"]);
    expect(s.push("tail")).toEqual([]);
    expect(s.rest()).toBe("tail");
    expect(s.rest()).toBe("");
  });
});

describe("FileTail", () => {
  it("reads a growing file once, line by line, a multi-byte character cut by a write included", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tail-")), "points.jsonl");
    const tail = new FileTail(file);
    const got: string[] = [];
    const collect = (lines: readonly string[]): void => {
      got.push(...lines);
    };
    await tail.drain(collect);
    expect(got, "no file yet: nothing, no error").toEqual([]);
    const e = Buffer.from("é");
    writeFileSync(file, Buffer.concat([Buffer.from("one\ntw"), e.subarray(0, 1)]));
    await tail.drain(collect);
    expect(got).toEqual(["one"]);
    appendFileSync(file, Buffer.concat([e.subarray(1), Buffer.from("o\nthree\nfou")]));
    await tail.drain(collect);
    expect(got).toEqual(["one", "twéo", "three"]);
    await tail.drain(collect);
    expect(got, "nothing new: nothing twice").toEqual(["one", "twéo", "three"]);
    await tail.drain(collect, true);
    expect(got, "the writer is gone: its last, unterminated line").toEqual(["one", "twéo", "three", "fou"]);
  });
});

describe("PointsReader", () => {
  const point = (metric: string, value: number): string =>
    JSON.stringify({ type: "Point", metric, data: { time: "2026-11-23T06:00:00.250Z", value, tags: {} } });

  it("feeds the storm's points while k6 writes, the last unterminated line once k6 is gone", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "points-")), "k6-points.jsonl");
    const fed: string[] = [];
    const reader = new PointsReader(file, (o) => fed.push(o.type));
    let exit = (): void => {};
    const exited = new Promise<void>((done) => {
      exit = done;
    });
    const following = reader.follow(exited);
    writeFileSync(file, `${point("storm_join_duration", 5)}\n${point("ws_connecting", 3)}\n`);
    // the reader polls every second; 10 s leaves a loaded machine room
    await waitFor(() => fed.length === 1, { timeoutMs: 10_000, debugName: "the first point read live" });
    expect(fed, "read before k6 ended: the live part").toEqual(["join"]);
    appendFileSync(
      file,
      `${point("storm_sessions_ended", 1)}\n${point("storm_join_failures", 2).slice(0, -1)}`,
    );
    await waitFor(() => fed.length === 2, { timeoutMs: 10_000, debugName: "the second point read live" });
    exit();
    await following;
    // the cut line is not JSON: counted, not fed
    expect(fed).toEqual(["join", "session-ended"]);
    expect(reader.unreadable).toBe(1);
  });
});
