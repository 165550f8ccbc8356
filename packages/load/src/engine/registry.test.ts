// The engine registry is checked by the compiler: `npm run lint:types` (part of `npm test`) fails
// on a `@ts-expect-error` line that no longer errs, so each one below is a type test that a table
// missing an engine, or naming one that does not exist, does not compile.
import { describe, expect, it } from "vitest";
import { engineChoices } from "@livekit-swarm/schema";
import type { EngineOpeners } from "../run/worker.js";
import type { EngineName } from "../run/messages.js";
import { ENGINE_RULES, type Engine } from "./engine.js";

const open = (): Promise<Engine> => Promise.reject(new Error("not opened in a type test"));

describe("the engine registry", () => {
  it("has no opener table without an entry per engine, and no entry for an unknown one", () => {
    const whole: EngineOpeners = { native: open, lean: open, browser: open };
    // @ts-expect-error an engine without its opener (browser) is a type error, not a silent lean
    const missing: EngineOpeners = { native: open, lean: open };
    // @ts-expect-error an opener for an engine schema does not offer is a type error
    const extra: EngineOpeners = { native: open, lean: open, browser: open, quic: open };
    expect([whole, missing, extra].map((t) => Object.keys(t).length)).toEqual([3, 2, 4]);
  });

  it("has rules for exactly schema's engine choices but mixed (a run's mix of two engines)", () => {
    const names: readonly EngineName[] = engineChoices.filter((e): e is EngineName => e !== "mixed");
    expect(Object.keys(ENGINE_RULES).sort()).toEqual([...names].sort());
  });
});
