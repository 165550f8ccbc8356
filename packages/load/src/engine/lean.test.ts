import { describe, expect, it } from "vitest";
import { namedStreams } from "./lean.js";

describe("lean's received streams as a drill's watch sees them", () => {
  it("names each stream `<publisher>/<kind>` and leaves out one whose publisher the signalling has not named", () => {
    const participant = {
      receivedTracks: () => [
        { key: "ssrc:1", kind: "audio" as const, packetsReceived: 50, publisher: "pub-0" },
        { key: "ssrc:2", kind: "video" as const, packetsReceived: 900, publisher: "pub-0" },
        { key: "ssrc:3", kind: "audio" as const, packetsReceived: 4, publisher: undefined },
      ],
    };
    expect(namedStreams(participant)).toEqual([
      { key: "ssrc:1", kind: "audio", packetsReceived: 50, track: "pub-0/audio" },
      { key: "ssrc:2", kind: "video", packetsReceived: 900, track: "pub-0/video" },
    ]);
  });
});
