import { describe, expect, it } from "vitest";
import type { ParticipantPlan } from "../run/messages.js";
import {
  ENGINE_ATTRIBUTE,
  EngineError,
  checkEngines,
  checkDrillable,
  leanSimulcastEnabled,
  stampsCaptureTime,
} from "./engine.js";

const participant = (over: Partial<ParticipantPlan>): ParticipantPlan => ({
  engine: "lean",
  room: "r1",
  identity: "p",
  role: "subscriber",
  publishAudio: false,
  publishVideo: false,
  publisherIndex: -1,
  subscribe: true,
  probe: false,
  expectedTracks: { audio: 1, video: 0 },
  joinAtMs: 0,
  ...over,
});
const video = { resolution: "360p", width: 640, height: 360, fps: 20, codec: "vp8" as const };
const publisher = participant({ role: "publisher", publishAudio: true, publisherIndex: 0, subscribe: false });

describe("what an engine refuses, before anything starts", () => {
  it("lets lean publish audio and subscribe to everyone", () => {
    expect(() => {
      checkEngines([publisher, participant({})], {
        engine: "lean",
        subscribeLimit: undefined,
        data: false,
        video,
      });
    }).not.toThrow();
  });

  it.each([
    [
      "a subscribe limit",
      { engine: "lean", subscribeLimit: 2, data: false, video },
      "--engine lean: the lean engine subscribes to every publisher: drop --subscribe-limit, or --engine native",
    ],
  ])("refuses %s on lean, naming the fix", (_what, shape, message) => {
    expect(() => {
      checkEngines([publisher, participant({})], shape);
    }).toThrow(new EngineError("unsupported", message));
  });

  it("lets lean (and mixed) publishers send data packets; refuses them on browser publishers, naming the fix", () => {
    for (const engine of ["lean", "mixed"] as const)
      expect(() => {
        checkEngines([publisher, participant({})], { engine, subscribeLimit: undefined, data: true, video });
      }).not.toThrow();
    expect(() => {
      checkEngines([{ ...publisher, engine: "browser" }, participant({ engine: "browser" })], {
        engine: "browser",
        subscribeLimit: undefined,
        data: true,
        video,
      });
    }).toThrow(
      new EngineError(
        "unsupported",
        "--engine browser: the browser engine sends no data packets: drop --data, or --engine native",
      ),
    );
  });

  it("asks native for none of it", () => {
    const native = [{ ...publisher, engine: "native" as const, publishVideo: true }];
    expect(() => {
      checkEngines(native, {
        engine: "native",
        subscribeLimit: 2,
        data: true,
        video: { ...video, codec: "h264" as const },
      });
    }).not.toThrow();
  });

  it("drills native, lean, browser and mixed workloads: every engine reports media flow", () => {
    const mixed = [participant({ engine: "native" }), participant({}), participant({ engine: "browser" })];
    expect(() => {
      checkDrillable(mixed, "mixed", ["node.kill", "net.partition", "client.join"]);
    }).not.toThrow();
  });

  it("refuses client.simulate when any participant is lean, in one line naming the fix", () => {
    expect(() => {
      checkDrillable([participant({ engine: "native" }), participant({})], "mixed", ["client.simulate"]);
    }).toThrow(
      new EngineError(
        "unsupported",
        "engine mixed: client.simulate runs rtc-node's simulateScenario, which the lean engine does not have: run the drill's workload with engine native",
      ),
    );
    expect(() => {
      checkDrillable([participant({ engine: "browser" })], "browser", ["client.simulate"]);
    }).toThrow(/which the browser engine does not have/);
    expect(() => {
      checkDrillable([participant({ engine: "native" })], "native", ["client.simulate"]);
    }).not.toThrow();
  });
});

describe("which publishers' stamps a probe reads as capture times", () => {
  it.each(["native", "browser"])(
    "a %s publisher's: its stamp is the time it captured (drew) the frame",
    (engine) => {
      expect(stampsCaptureTime({ [ENGINE_ATTRIBUTE]: engine })).toBe(true);
    },
  );

  it.each([
    ["a lean publisher (its stamp is the frame's place in the loop)", { [ENGINE_ATTRIBUTE]: "lean" }],
    ["a publisher with no engine attribute (not one of ours)", {}],
    ["an engine this build does not know", { [ENGINE_ATTRIBUTE]: "future" }],
  ])("not %s", (_who, attributes) => {
    expect(stampsCaptureTime(attributes)).toBe(false);
  });
});

describe("lean simulcast: on where the scenario asks, off only with LKSWARM_LEAN_SIMULCAST=0", () => {
  it("is on with the variable unset, 1 or anything else, off with 0", () => {
    expect(leanSimulcastEnabled({})).toBe(true);
    expect(leanSimulcastEnabled({ LKSWARM_LEAN_SIMULCAST: "1" })).toBe(true);
    expect(leanSimulcastEnabled({ LKSWARM_LEAN_SIMULCAST: "" })).toBe(true);
    expect(leanSimulcastEnabled({ LKSWARM_LEAN_SIMULCAST: "0" })).toBe(false);
  });
});
