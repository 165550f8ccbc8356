import {
  ConnectionQuality,
  ConnectionQualityInfo,
  Ping,
  Pong,
  ReconnectReason,
  SignalRequest,
  SignalResponse,
  SpeakersChanged,
  SpeakerInfo,
} from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { isPongResponse, joinUrl, ownQuality, pingRequest } from "./signal.js";

describe("joinUrl", () => {
  it("joins on /rtc with protocol 16, the token as access_token and auto_subscribe as asked", () => {
    const url = new URL(joinUrl("ws://127.0.0.1:7880", "tok.en", true));
    expect(url.protocol).toBe("ws:");
    expect(url.pathname).toBe("/rtc");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      access_token: "tok.en",
      auto_subscribe: "1",
      sdk: "js",
      version: "2.9.0",
      protocol: "16",
      adaptive_stream: "0",
    });
    expect(new URL(joinUrl("ws://h:1", "t", false)).searchParams.get("auto_subscribe")).toBe("0");
  });

  it("resumes with reconnect=1, the participant sid and the reconnect reason", () => {
    const url = new URL(
      joinUrl("ws://h:1", "t", true, { sid: "PA_abc", reason: ReconnectReason.RR_SUBSCRIBER_FAILED }),
    );
    expect(url.searchParams.get("reconnect")).toBe("1");
    expect(url.searchParams.get("sid")).toBe("PA_abc");
    expect(url.searchParams.get("reconnect_reason")).toBe("3");
  });

  it("maps http(s) to ws(s) and keeps a path prefix", () => {
    expect(joinUrl("https://lk.example.com/base/", "t", true)).toMatch(
      /^wss:\/\/lk\.example\.com\/base\/rtc\?/,
    );
    expect(joinUrl("http://h:7880", "t", true)).toMatch(/^ws:\/\/h:7880\/rtc\?/);
  });
});

describe("ownQuality: this participant's quality in a ConnectionQualityUpdate", () => {
  const info = (participantSid: string, quality: ConnectionQuality): ConnectionQualityInfo =>
    new ConnectionQualityInfo({ participantSid, quality, score: 4.2 });

  it("names each of LiveKit's qualities as the native engine's events do", () => {
    expect(ownQuality([info("PA_me", ConnectionQuality.EXCELLENT)], "PA_me")).toBe("excellent");
    expect(ownQuality([info("PA_me", ConnectionQuality.GOOD)], "PA_me")).toBe("good");
    expect(ownQuality([info("PA_me", ConnectionQuality.POOR)], "PA_me")).toBe("poor");
    expect(ownQuality([info("PA_me", ConnectionQuality.LOST)], "PA_me")).toBe("lost");
  });

  it("reads only this participant's entry, the last when there are two", () => {
    const updates = [info("PA_other", ConnectionQuality.LOST), info("PA_me", ConnectionQuality.GOOD)];
    expect(ownQuality(updates, "PA_me")).toBe("good");
    expect(ownQuality(updates, "PA_nobody")).toBeUndefined();
    expect(ownQuality([...updates, info("PA_me", ConnectionQuality.POOR)], "PA_me")).toBe("poor");
  });

  it("says nothing before the session has a sid, for an empty update, or for a quality this protocol does not name", () => {
    expect(ownQuality([info("", ConnectionQuality.GOOD)], "")).toBeUndefined();
    expect(ownQuality([], "PA_me")).toBeUndefined();
    // a newer server's value, decoded from the wire as a bare number
    const unnamed = ConnectionQualityInfo.fromBinary(
      new Uint8Array([0x0a, 0x05, ...Buffer.from("PA_me"), 0x10, 0x09]),
    );
    expect(unnamed.quality).toBe(9);
    expect(ownQuality([unnamed], "PA_me")).toBeUndefined();
  });
});

describe("the ping and its answer without @bufbuild's reflection", () => {
  const times = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32, Date.now(), 2 ** 53 - 1];
  for (let i = 0; i < 200; i++) times.push(Math.floor(Math.random() * 2 ** (1 + (i % 53))));

  it("writes pingReq as @bufbuild writes the SignalRequest, for any timestamp", () => {
    for (const t of times) {
      const expected = new SignalRequest({
        message: { case: "pingReq", value: new Ping({ timestamp: BigInt(t) }) },
      }).toBinary();
      expect(pingRequest(t).toString("hex"), String(t)).toBe(Buffer.from(expected).toString("hex"));
      // and LiveKit reads it back as that ping
      const read = SignalRequest.fromBinary(pingRequest(t)).message;
      expect(read.case === "pingReq" ? read.value.timestamp : undefined).toBe(BigInt(t));
    }
  });

  it("knows pongResp, whatever its timestamps, and nothing else, for the other messages' fields", () => {
    for (const t of times) {
      const pong = new SignalResponse({
        message: {
          case: "pongResp",
          value: new Pong({ lastPingTimestamp: BigInt(t), timestamp: BigInt(t + 1) }),
        },
      }).toBinary();
      expect(isPongResponse(Buffer.from(pong)), String(t)).toBe(true);
      // the deprecated int64 pong (field 18) is not it
      const old = new SignalResponse({ message: { case: "pong", value: BigInt(t) } }).toBinary();
      expect(isPongResponse(Buffer.from(old)), String(t)).toBe(false);
    }
    const speakers = new SignalResponse({
      message: {
        case: "speakersChanged",
        value: new SpeakersChanged({
          speakers: [new SpeakerInfo({ sid: "PA_x", level: 0.5, active: true })],
        }),
      },
    }).toBinary();
    expect(isPongResponse(Buffer.from(speakers))).toBe(false);
    expect(isPongResponse(Buffer.from(new SignalResponse({}).toBinary()))).toBe(false);
    // an empty Pong is still a pong; a truncated one is not taken for it
    const empty = Buffer.from(
      new SignalResponse({ message: { case: "pongResp", value: new Pong({}) } }).toBinary(),
    );
    expect(isPongResponse(empty)).toBe(true);
    const pong = Buffer.from(
      new SignalResponse({
        message: { case: "pongResp", value: new Pong({ lastPingTimestamp: 5n, timestamp: 6n }) },
      }).toBinary(),
    );
    expect(isPongResponse(pong.subarray(0, pong.length - 1))).toBe(false);
  });
});
