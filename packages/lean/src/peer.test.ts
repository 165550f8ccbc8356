import { describe, expect, it } from "vitest";
import { MediaStreamTrack, type RTCPeerConnection } from "werift";
import { acceptChecksAfterRestart, leanPeerConnection, pairOf, pairRoundTrip } from "./peer.js";
import { simulcastRids } from "./simulcast.js";

describe("pairOf: werift's nominated pair in the schema's words", () => {
  it("reads types and the local transport, whatever its case", () => {
    expect(pairOf({ type: "host", transport: "udp" }, { type: "host" })).toEqual({
      local: "host",
      remote: "host",
      protocol: "udp",
    });
    expect(pairOf({ type: "prflx", transport: "TCP" }, { type: "host" })).toEqual({
      local: "prflx",
      remote: "host",
      protocol: "tcp",
    });
  });

  it("says nothing without a local candidate or for a shape it does not know", () => {
    expect(pairOf(undefined, { type: "host" })).toBeUndefined();
    expect(pairOf({ type: "host", transport: "sctp" }, { type: "host" })).toBeUndefined();
    expect(pairOf({ type: "peer", transport: "udp" }, { type: "host" })).toBeUndefined();
  });
});

describe("pairRoundTrip: a PeerConnection's round-trip time", () => {
  const pcWith = (nominated: { rtt?: number } | undefined): RTCPeerConnection =>
    ({ iceTransports: [{ connection: { nominated } }] }) as unknown as RTCPeerConnection;

  it("reads the nominated pair's last STUN round trip, in seconds", () => {
    expect(pairRoundTrip(pcWith({ rtt: 0.0123 }))).toBe(0.0123);
    expect(pairRoundTrip(pcWith({ rtt: 0 }))).toBe(0);
  });

  it("is undefined before a pair is nominated or measured, and for what is not a duration", () => {
    expect(pairRoundTrip({ iceTransports: [] } as unknown as RTCPeerConnection)).toBeUndefined();
    expect(pairRoundTrip(pcWith(undefined))).toBeUndefined();
    expect(pairRoundTrip(pcWith({}))).toBeUndefined();
    expect(pairRoundTrip(pcWith({ rtt: Number.NaN }))).toBeUndefined();
    expect(pairRoundTrip(pcWith({ rtt: -0.001 }))).toBeUndefined();
  });
});

describe("acceptChecksAfterRestart: the checks werift queues after an ICE restart with DTLS up", () => {
  const peer = (connection: object) => ({ iceTransports: [{ connection }] }) as unknown as RTCPeerConnection;

  it("processes the queued checks in order and lets later ones through, once", () => {
    const processed: unknown[][] = [];
    const connection = {
      earlyChecksDone: false,
      earlyChecks: [
        ["request 1", ["127.0.0.1", 7882], "udp"],
        ["request 2", ["127.0.0.1", 7882], "udp"],
      ],
      remoteUsername: "abcd",
      checkIncoming: (...check: unknown[]) => processed.push(check),
    };
    expect(acceptChecksAfterRestart(peer(connection))).toBe(1);
    expect(processed.map((c) => c[0])).toEqual(["request 1", "request 2"]);
    // werift queues a check only while earlyChecksDone is false and no pair exists
    expect(connection.earlyChecksDone).toBe(true);
    expect(connection.earlyChecks).toEqual([]);
    expect(acceptChecksAfterRestart(peer(connection))).toBe(0);
  });

  it("leaves alone a connection werift's own connect() handled, or one without the remote credentials yet", () => {
    const processed: unknown[][] = [];
    const handled = {
      earlyChecksDone: true,
      earlyChecks: [["request", ["127.0.0.1", 7882], "udp"]],
      remoteUsername: "abcd",
      checkIncoming: (...check: unknown[]) => processed.push(check),
    };
    const noCredentials = { ...handled, earlyChecksDone: false, remoteUsername: "" };
    expect(acceptChecksAfterRestart(peer(handled))).toBe(0);
    expect(acceptChecksAfterRestart(peer(noCredentials))).toBe(0);
    expect(processed).toEqual([]);
    expect(noCredentials.earlyChecksDone).toBe(false);
  });
});

describe("leanPeerConnection's offer: one id per header extension across the bundle", () => {
  it("gives the mid one id in the audio and the simulcast video m-section, and no id two extensions", async () => {
    const pc = leanPeerConnection({ lost: () => undefined, candidate: () => undefined }, undefined, true);
    try {
      pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
      pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), {
        direction: "sendonly",
        simulcast: simulcastRids(3),
      });
      const { sdp } = await pc.createOffer();
      const sections = sdp.split("\r\nm=").slice(1);
      expect(sections.map((s) => s.split(" ")[0])).toEqual(["audio", "video"]);
      const byUri = new Map<string, Set<number>>();
      const byId = new Map<number, Set<string>>();
      for (const section of sections)
        for (const [, id = "", uri = ""] of section.matchAll(/^a=extmap:(\d+)(?:\/\w+)? (\S+)$/gm)) {
          byUri.set(uri, (byUri.get(uri) ?? new Set()).add(Number(id)));
          byId.set(Number(id), (byId.get(Number(id)) ?? new Set()).add(uri));
        }
      // werift alone numbers the two lists as one run: the mid is 1 in audio and 2 in video
      expect([...(byUri.get("urn:ietf:params:rtp-hdrext:sdes:mid") ?? [])]).toEqual([1]);
      expect(byUri.has("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")).toBe(true);
      for (const [uri, ids] of byUri) expect([uri, ids.size]).toEqual([uri, 1]);
      for (const [id, uris] of byId) expect([id, uris.size]).toEqual([id, 1]);
    } finally {
      await pc.close();
    }
  });
});
