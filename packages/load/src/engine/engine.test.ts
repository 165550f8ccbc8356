import { LEAN_SIMULATIONS } from "@livekit-swarm/lean";
import { simulateScenarios } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import type { ParticipantPlan } from "../run/messages.js";
import {
  ENGINE_ATTRIBUTE,
  ENGINE_RULES,
  EngineError,
  cannotSimulate,
  checkEngines,
  simulated,
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
      checkDrillable(mixed, "mixed", [
        { type: "node.kill" },
        { type: "net.partition" },
        { type: "client.join" },
      ]);
    }).not.toThrow();
  });

  it("refuses a client.simulate scenario any participant's engine does not act out, in one line naming the fix", () => {
    const mixed = [participant({ engine: "native" }), participant({})];
    const simulate = (scenario?: string) => [{ type: "node.kill" }, { type: "client.simulate", scenario }];
    for (const scenario of [undefined, ...ENGINE_RULES.lean.simulate])
      expect(() => {
        checkDrillable(mixed, "mixed", simulate(scenario));
      }).not.toThrow();
    expect(() => {
      checkDrillable(mixed, "mixed", simulate("force-tcp"));
    }).toThrow(
      new EngineError(
        "unsupported",
        "engine mixed: the lean engine cannot simulate force-tcp (it acts out signal-reconnect, node-failure, server-leave, migration, full-reconnect, disconnect-signal-on-resume): run the drill's workload with engine native",
      ),
    );
    // rtc-node and livekit-client act out every scenario a drill names
    for (const engine of ["native", "browser"] as const)
      for (const scenario of simulateScenarios)
        expect(() => {
          checkDrillable([participant({ engine })], engine, simulate(scenario));
        }).not.toThrow();
  });

  it("simulated: refuses a scenario the engine does not act out without acting, answers the others ok or with why", async () => {
    const events: unknown[] = [];
    const acted: string[] = [];
    const emit = (e: unknown): void => {
      events.push(e);
    };
    await simulated("lean", "force-tcp", async (s) => Promise.resolve(void acted.push(s)), emit);
    await simulated("lean", "migration", async (s) => Promise.resolve(void acted.push(s)), emit);
    await simulated("native", "node-failure", () => Promise.reject(new Error("not connected")), emit);
    expect(acted).toEqual(["migration"]);
    expect(events).toEqual([
      cannotSimulate("lean", "force-tcp"),
      { type: "simulated", scenario: "migration", ok: true },
      { type: "simulated", scenario: "node-failure", ok: false, message: "not connected" },
    ]);
  });

  it("lists for lean the scenarios the lean participant acts out, no more, no fewer", () => {
    expect([...ENGINE_RULES.lean.simulate]).toEqual([...LEAN_SIMULATIONS]);
    expect(cannotSimulate("lean", "force-tls")).toEqual({
      type: "simulated",
      scenario: "force-tls",
      ok: false,
      message:
        "the lean engine cannot simulate force-tls (it acts out signal-reconnect, node-failure, server-leave, migration, full-reconnect, disconnect-signal-on-resume): run it with engine native",
    });
    expect(cannotSimulate("browser", "speaker")).toMatchObject({
      message: `the browser engine cannot simulate speaker (it acts out ${simulateScenarios.join(", ")}): run it with engine native`,
    });
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
