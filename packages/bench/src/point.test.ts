import { describe, expect, it } from "vitest";
import { prepareRun } from "@livekit-swarm/load";
import { parseScenarioObject } from "@livekit-swarm/schema";
import { pointSpec } from "./point.js";
import { WORKLOADS } from "./workloads.js";

const audio = WORKLOADS.find((w) => w.name === "audio");
if (audio === undefined) throw new Error("the audio workload is gone");

describe("pointSpec", () => {
  it("puts every participant of a --network point on its profile, in the namespace it names", () => {
    const place = {
      profile: "turn-only",
      namespace: "lkcab12n0",
      address: "10.0.0.2",
      url: "ws://10.0.0.2:7880",
    } as const;
    const spec = pointSpec(audio, 2, 20, { network: "turn-only" }, "/tmp/x", place);
    expect(spec.network).toEqual(place);
    const scenario = parseScenarioObject(spec.scenario, "bench point");
    expect(scenario.networkProfiles).toEqual({ "turn-only": 1 });
    const { plan } = prepareRun(scenario);
    expect(plan.participants).toHaveLength(10);
    expect(new Set(plan.participants.map((p) => p.profile))).toEqual(new Set(["turn-only"]));
  });

  it("encrypts an --e2ee point's rooms and leaves an ordinary point open and unencrypted", () => {
    const e2ee = parseScenarioObject(
      pointSpec(audio, 2, 20, { e2ee: true }, "/tmp/x").scenario,
      "bench point",
    );
    expect(e2ee.e2ee).not.toBeNull();
    const plain = pointSpec(audio, 2, 20, {}, "/tmp/x");
    expect(plain.network).toBeUndefined();
    const scenario = parseScenarioObject(plain.scenario, "bench point");
    expect([scenario.e2ee, scenario.networkProfiles]).toEqual([null, undefined]);
    expect(prepareRun(scenario).plan.participants.every((p) => p.profile === undefined)).toBe(true);
  });
});
