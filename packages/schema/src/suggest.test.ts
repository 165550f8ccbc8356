import { describe, expect, it } from "vitest";
import { closestMatches, editDistance } from "./suggest.js";

describe("editDistance", () => {
  it.each([
    ["rooms", "rooms", 0],
    ["romos", "rooms", 1],
    ["room", "rooms", 1],
    ["fsp", "fps", 1],
    ["kitten", "sitting", 3],
    ["", "abc", 3],
  ])("%s -> %s is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe("closestMatches", () => {
  const keys = [
    "rooms",
    "room-prefix",
    "subscribers",
    "subscribe-limit",
    "video-publishers",
    "audio-publishers",
  ];

  it.each([
    ["romos", ["rooms"]],
    ["room", ["rooms", "room-prefix"]],
    ["subscriber", ["subscribers"]],
    ["videoPublishers", ["video-publishers", "audio-publishers"]],
    ["audio_publishers", ["audio-publishers", "video-publishers"]],
    ["zz", []],
  ])("%s -> %j", (input, expected) => {
    expect(closestMatches(input, keys)).toEqual(expected);
  });

  it("honours the limit", () => {
    expect(closestMatches("romos", keys, 1)).toEqual(["rooms"]);
  });
});
