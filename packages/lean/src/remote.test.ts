import { ParticipantInfo, ParticipantInfo_State, TrackInfo } from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { RemotePublishers } from "./remote.js";

const info = (
  identity: string,
  sid: string,
  tracks: string[] = [],
  state = ParticipantInfo_State.ACTIVE,
): ParticipantInfo =>
  new ParticipantInfo({ identity, sid, state, tracks: tracks.map((t) => new TrackInfo({ sid: t })) });

describe("RemotePublishers: whose track a received stream carries, and who is in the room", () => {
  it("names a track's publisher by its track sid, else by the participant sid packed in the stream id", () => {
    const r = new RemotePublishers("sub-1");
    r.joined([info("pub-0", "PA_a", ["TR_a"])]);
    expect(r.publisherOf({ streamId: "PA_a|TR_a", trackId: "TR_a" })).toBe("pub-0");
    // a track the updates have not listed yet, of a known participant
    expect(r.publisherOf({ streamId: "PA_a|TR_new", trackId: "TR_new" })).toBe("pub-0");
    // nobody the signalling named: unknown, not a guess
    expect(r.publisherOf({ streamId: "PA_z|TR_z", trackId: "TR_z" })).toBeUndefined();
    expect(r.publisherOf({})).toBeUndefined();
  });

  it("follows updates: a new publisher, one who left (still named for its last packets), ourselves excluded", () => {
    const r = new RemotePublishers("sub-1");
    r.joined([info("pub-0", "PA_a", ["TR_a"]), info("sub-2", "PA_b")]);
    r.updated([info("sub-1", "PA_me"), info("late", "PA_c", ["TR_c"])]);
    expect(r.identities()).toEqual(["late", "pub-0", "sub-2"]);
    expect(r.publisherOf({ trackId: "TR_c" })).toBe("late");
    r.updated([info("pub-0", "PA_a", ["TR_a"], ParticipantInfo_State.DISCONNECTED)]);
    expect(r.identities()).toEqual(["late", "sub-2"]);
    expect(r.publisherOf({ trackId: "TR_a" })).toBe("pub-0");
  });

  it("keeps one identity present across its sessions: a publisher's full rejoin under a new sid", () => {
    const r = new RemotePublishers("sub-1");
    r.joined([info("pub-0", "PA_a", ["TR_a"])]);
    r.updated([info("pub-0", "PA_new", ["TR_new"])]);
    // the old session's leave arrives after the new one joined
    r.updated([info("pub-0", "PA_a", [], ParticipantInfo_State.DISCONNECTED)]);
    expect(r.identities()).toEqual(["pub-0"]);
    expect(r.publisherOf({ streamId: "PA_new|TR_new", trackId: "TR_new" })).toBe("pub-0");
  });

  it("starts presence over from a new session's JoinResponse (our own full rejoin)", () => {
    const r = new RemotePublishers("sub-1");
    r.joined([info("pub-0", "PA_a", ["TR_a"]), info("gone", "PA_g")]);
    r.joined([info("pub-0", "PA_a2", ["TR_a2"])]);
    expect(r.identities()).toEqual(["pub-0"]);
  });
});
