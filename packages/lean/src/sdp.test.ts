import { describe, expect, it } from "vitest";
import { extmapId, withMsid } from "./sdp.js";

describe("withMsid", () => {
  const sdp = ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=sendonly", ""].join("\r\n");

  it("names the track after the mid line when werift wrote no msid", () => {
    expect(withMsid(sdp, "alice", { audio: "lean-mic" })).toBe(
      ["v=0", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=mid:0", "a=msid:alice lean-mic", "a=sendonly", ""].join(
        "\r\n",
      ),
    );
  });

  it("names each kind's track in its own m-section", () => {
    const both = [
      "v=0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=mid:0",
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
      "a=mid:1",
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
      "a=mid:2",
      "",
    ].join("\r\n");
    const lines = withMsid(both, "alice", { audio: "mic", video: "cam" }).split("\r\n");
    expect(lines.filter((l) => l.startsWith("a=msid:"))).toEqual(["a=msid:alice mic", "a=msid:alice cam"]);
    expect(lines.indexOf("a=msid:alice cam")).toBe(lines.indexOf("a=mid:1") + 1);
  });

  it("leaves an SDP that already has an msid alone", () => {
    const with_ = sdp.replace("a=sendonly", "a=msid:s t\r\na=sendonly");
    expect(withMsid(with_, "alice", { audio: "lean-mic" })).toBe(with_);
  });
});

describe("extmapId", () => {
  it("finds a header extension's id, with or without a direction, and only that URI", () => {
    const sdp = [
      "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
      "a=extmap:7/sendrecv http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
      "",
    ].join("\r\n");
    expect(extmapId(sdp, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time")).toBe(7);
    expect(extmapId(sdp, "urn:ietf:params:rtp-hdrext:sdes:mid")).toBe(1);
    expect(extmapId(sdp, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")).toBeUndefined();
  });
});
