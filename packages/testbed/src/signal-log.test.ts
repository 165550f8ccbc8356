import { describe, expect, it } from "vitest";
import { parseSignalLog } from "./signal-log.js";

describe("signal log", () => {
  it("reads the node, room and identity of each accepted signalling connection", () => {
    const log = [
      "[NOTICE]   (1234) : New worker (1236) forked",
      '1795404831.319 127.0.0.1:57174 livekit_nodes/node2 101 0/0/3 token=9C3701CDFFAFD696 room="chaos-ab12-room-0" identity="lkswarm-sub-1" GET /rtc/v1',
      // a validate call and a refused resume: no signalling connection
      '1795404831.420 127.0.0.1:57175 livekit_nodes/node2 401 0/0/3 token=9C3701CDFFAFD696 room="chaos-ab12-room-0" identity="lkswarm-sub-1" GET /rtc/v1/validate',
      '1795404832.005 127.0.0.1:57176 livekit_nodes/<NOSRV> 503 -1/-1/-1 token=9C3701CDFFAFD696 room="chaos-ab12-room-0" identity="lkswarm-sub-1" GET /rtc/v1',
      // a request without a token, and an escaped name
      '1795404833.007 127.0.0.1:57177 livekit_nodes/node1 200 0/0/1 token=- room="" identity="" GET /',
      String.raw`1795404834.050 127.0.0.1:57178 livekit_nodes/node3 101 0/0/2 token=1AB34987C99545B2 room="a \"b\" \\ c\]" identity="pub-1" GET /rtc`,
      "Server livekit_nodes/node2 is DOWN, reason: Layer4 connection problem",
    ].join("\n");
    expect(parseSignalLog(log)).toEqual([
      { at: 1795404831319, node: "node2", room: "chaos-ab12-room-0", identity: "lkswarm-sub-1" },
      { at: 1795404834050, node: "node3", room: String.raw`a "b" \ c]`, identity: "pub-1" },
    ]);
  });
});
