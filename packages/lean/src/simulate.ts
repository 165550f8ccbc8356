import type { SimulateScenario } from "@livekit/protocol";

/**
 * The client.simulate scenarios a lean participant acts out, as rtc-node's simulateScenario does
 * (livekit's Rust SDK, `RtcSession::simulate_scenario`): `signal-reconnect` closes the signalling
 * socket here, so the participant resumes; `full-reconnect` starts a full reconnect here (the Rust
 * SDK drives it client-side too: livekit-server 1.13.5 ignores the request that asks it for a
 * leave); `node-failure`, `migration` and `server-leave` ask the server, whose answer (a closed
 * socket, a leave) the participant handles as it handles the real thing;
 * `disconnect-signal-on-resume` asks the server to drop the next resume's socket, then closes the
 * socket here so that the resume fails and the participant escalates. `force-tcp` and `force-tls`
 * are not here: lean has no ICE over TCP or TLS.
 */
export const LEAN_SIMULATIONS = [
  "signal-reconnect",
  "node-failure",
  "server-leave",
  "migration",
  "full-reconnect",
  "disconnect-signal-on-resume",
] as const;
export type LeanSimulation = (typeof LEAN_SIMULATIONS)[number];

/**
 * What acting out a scenario takes: a request to the server (sent first), then what the participant
 * does itself: lose its signalling socket (it resumes) or start a full reconnect.
 */
export interface SimulationSteps {
  readonly ask: SimulateScenario["scenario"] | undefined;
  readonly then: "lose-signal" | "full-reconnect" | undefined;
}

export function isLeanSimulation(name: string): name is LeanSimulation {
  return (LEAN_SIMULATIONS as readonly string[]).includes(name);
}

export function simulationSteps(name: LeanSimulation): SimulationSteps {
  switch (name) {
    case "signal-reconnect":
      return { ask: undefined, then: "lose-signal" };
    case "node-failure":
      return { ask: { case: "nodeFailure", value: true }, then: undefined };
    case "migration":
      return { ask: { case: "migration", value: true }, then: undefined };
    case "server-leave":
      return { ask: { case: "serverLeave", value: true }, then: undefined };
    case "full-reconnect":
      return { ask: undefined, then: "full-reconnect" };
    case "disconnect-signal-on-resume":
      return { ask: { case: "disconnectSignalOnResume", value: true }, then: "lose-signal" };
  }
}
