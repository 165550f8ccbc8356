import { ReconnectReason } from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { joinUrl } from "./signal.js";

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
