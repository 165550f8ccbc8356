import { describe, expect, it } from "vitest";
import { LEAN_SIMULATIONS, isLeanSimulation, simulationSteps } from "./simulate.js";

describe("simulationSteps: a client.simulate scenario as rtc-node acts it out", () => {
  it("closes the socket here for signal-reconnect, reconnects in full here for full-reconnect, asks the server for the others", () => {
    const steps = Object.fromEntries(
      LEAN_SIMULATIONS.map((name) => {
        const { ask, then } = simulationSteps(name);
        return [
          name,
          `${ask === undefined ? "-" : `${String(ask.case)}=${String(ask.value)}`} ${then ?? "-"}`,
        ];
      }),
    );
    expect(steps).toEqual({
      "signal-reconnect": "- lose-signal",
      "node-failure": "nodeFailure=true -",
      "server-leave": "serverLeave=true -",
      migration: "migration=true -",
      // client-side, as the Rust SDK does: livekit-server 1.13.5 ignores leaveRequestFullReconnect
      "full-reconnect": "- full-reconnect",
      // asked first, so that the resume the drop starts is the one the server cuts
      "disconnect-signal-on-resume": "disconnectSignalOnResume=true lose-signal",
    });
  });

  it("has no force-tcp or force-tls: lean gathers host UDP candidates only", () => {
    expect(isLeanSimulation("force-tcp")).toBe(false);
    expect(isLeanSimulation("force-tls")).toBe(false);
    expect(isLeanSimulation("node-failure")).toBe(true);
    expect(isLeanSimulation("node-failur")).toBe(false);
  });
});
