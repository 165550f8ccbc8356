import { describe, expect, it } from "vitest";
import { bundleExtensionIds, extmapId, withMsid } from "./sdp.js";

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
  const MID = "urn:ietf:params:rtp-hdrext:sdes:mid";
  const CAPTURE = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

  it("finds a header extension's id, with or without a direction, and only that URI", () => {
    const sdp = [
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      `a=extmap:1 ${MID}`,
      `a=extmap:7/sendrecv ${CAPTURE}`,
      "",
    ].join("\r\n");
    expect(extmapId(sdp, CAPTURE, "video")).toBe(7);
    expect(extmapId(sdp, MID, "video")).toBe(1);
    expect(
      extmapId(sdp, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "video"),
    ).toBeUndefined();
  });

  it("reads the kind's own m-section: audio giving the mid another id does not answer for video", () => {
    // the answer livekit-server gave to werift's numbering (audio's mid 1, video's mid 2)
    const sdp = [
      "v=0",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "a=mid:0",
      `a=extmap:1 ${MID}`,
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "a=mid:1",
      `a=extmap:2 ${MID}`,
      `a=extmap:3 ${CAPTURE}`,
      "",
    ].join("\r\n");
    expect(extmapId(sdp, MID, "video")).toBe(2);
    expect(extmapId(sdp, MID, "audio")).toBe(1);
    expect(extmapId(sdp, CAPTURE, "audio")).toBeUndefined();
    expect(extmapId(sdp.replace(/\r\n/g, "\n"), MID, "video")).toBe(2);
  });

  it("has no id for a kind the SDP has no m-section of", () => {
    expect(
      extmapId(`v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 ${MID}\r\n`, MID, "video"),
    ).toBeUndefined();
  });
});

describe("bundleExtensionIds: one id per extension across a BUNDLE's m-sections", () => {
  const ext = (uri: string) => ({ uri, id: 0 });

  it("gives an extension listed for both kinds one id, and the others the next free ones", () => {
    const audio = [ext("mid")];
    const video = [ext("mid"), ext("capture"), ext("rid"), ext("repaired-rid")];
    bundleExtensionIds([audio, video]);
    expect(audio.map((e) => e.id)).toEqual([1]);
    expect(video.map((e) => e.id)).toEqual([1, 2, 3, 4]);
  });

  it("numbers a list alone from 1, and skips a kind with no list", () => {
    const video = [ext("mid"), ext("capture")];
    bundleExtensionIds([undefined, video]);
    expect(video.map((e) => e.id)).toEqual([1, 2]);
  });

  it("keeps ids distinct for distinct extensions whatever the order", () => {
    const audio = [ext("level"), ext("mid")];
    const video = [ext("capture"), ext("mid")];
    bundleExtensionIds([audio, video]);
    expect(audio.map((e) => e.id)).toEqual([1, 2]);
    expect(video.map((e) => e.id)).toEqual([3, 2]);
  });
});
