import { DisconnectReason, LeaveRequest, LeaveRequest_Action, ReconnectReason } from "@livekit/protocol";
import type { ParticipantEvent, RoomPlacement } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { LeanError } from "./errors.js";
import {
  disconnectReason,
  leaveAction,
  reconnectEpisode,
  reconnectReason,
  type ReconnectCause,
  type ReconnectPolicy,
  type Reconnectable,
} from "./reconnect.js";

/** A participant whose resume and rejoin outcomes are scripted, one per call. */
class Scripted implements Reconnectable {
  readonly events: ParticipantEvent[] = [];
  readonly calls: string[] = [];
  left = false;
  over(): boolean {
    return this.left;
  }
  constructor(
    private readonly resumes: (Error | "ok")[],
    private readonly rejoins: (Error | "ok")[],
    private readonly onCall: () => void = () => undefined,
  ) {}
  async resume(cause: ReconnectCause): Promise<void> {
    this.calls.push(`resume:${cause}`);
    this.onCall();
    const outcome = this.resumes.shift() ?? new Error("no more resumes scripted");
    if (outcome !== "ok") throw outcome;
    return Promise.resolve();
  }
  async rejoin(): Promise<void> {
    this.calls.push("rejoin");
    this.onCall();
    const outcome = this.rejoins.shift() ?? new Error("no more rejoins scripted");
    if (outcome !== "ok") throw outcome;
    return Promise.resolve();
  }
  /** Set by a test to say where the session is once it came back. */
  where: RoomPlacement = {};
  placement(): RoomPlacement {
    return this.where;
  }
  emit(event: ParticipantEvent): void {
    this.events.push(event);
  }
}

const policy: ReconnectPolicy = {
  attempts: 4,
  resumeTimeoutMs: 1,
  rejoinTimeoutMs: 1,
  backoffMs: (n) => n * 100,
};

/** A clock that only the episode's sleeps move: every duration is exact. */
function clock(): { sleep: (ms: number) => Promise<void>; now: () => number; slept: number[] } {
  let t = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

describe("reconnectEpisode", () => {
  it("resumes first: reconnecting with the cause, then reconnected by resume", async () => {
    const p = new Scripted(["ok"], []);
    const c = clock();
    const outcome = await reconnectEpisode(p, "signal-closed", policy, c.sleep, c.now);
    expect(outcome).toEqual({ path: "resume", attempts: 1, failures: [] });
    expect(p.calls).toEqual(["resume:signal-closed"]);
    expect(p.events).toEqual([
      { type: "reconnecting", cause: "signal-closed" },
      { type: "reconnected", durationS: 0, path: "resume" },
    ]);
  });

  it("a single failed resume escalates to a full rejoin after a backoff, and the duration counts it", async () => {
    const p = new Scripted([new LeanError("left", "refused")], ["ok"]);
    const c = clock();
    const outcome = await reconnectEpisode(p, "subscriber-ice-failed", policy, c.sleep, c.now);
    expect(p.calls).toEqual(["resume:subscriber-ice-failed", "rejoin"]);
    expect(outcome.path).toBe("full");
    expect(outcome.failures).toEqual(["resume: refused"]);
    expect(c.slept).toEqual([100]);
    expect(p.events.at(-1)).toEqual({ type: "reconnected", durationS: 0.1, path: "full" });
  });

  it("reconnected names the room instance and node the session came back to", async () => {
    const p = new Scripted([new LeanError("left", "refused")], ["ok"]);
    p.where = { roomSid: "RM_b", nodeId: "ND_2" };
    const c = clock();
    await reconnectEpisode(p, "signal-closed", policy, c.sleep, c.now);
    expect(p.events.at(-1)).toEqual({
      type: "reconnected",
      durationS: 0.1,
      path: "full",
      roomSid: "RM_b",
      nodeId: "ND_2",
    });
  });

  it("a server leave asking to reconnect, a drill's full-reconnect, or a publisher whose ICE failed, goes straight to a full rejoin", async () => {
    for (const cause of ["server-leave-reconnect", "full-reconnect-asked", "publisher-ice-failed"] as const) {
      const p = new Scripted([], ["ok"]);
      const c = clock();
      await reconnectEpisode(p, cause, policy, c.sleep, c.now);
      expect(p.calls, cause).toEqual(["rejoin"]);
      expect(p.events.at(-1), cause).toMatchObject({ type: "reconnected", path: "full" });
    }
  });

  it("gives up after the policy's attempts with the native engine's reason for the cause", async () => {
    const failing = (): Error => new LeanError("unreachable", "cannot reach");
    const p = new Scripted([failing()], [failing(), failing(), failing()]);
    const c = clock();
    const outcome = await reconnectEpisode(p, "signal-closed", policy, c.sleep, c.now);
    expect(outcome.path).toBeUndefined();
    expect(p.calls).toEqual(["resume:signal-closed", "rejoin", "rejoin", "rejoin"]);
    expect(c.slept).toEqual([100, 200, 300]);
    expect(p.events.map((e) => e.type)).toEqual(["reconnecting", "disconnected"]);
    expect(p.events.at(-1)).toEqual({ type: "disconnected", reason: "signal_close" });
  });

  it("stops at a refused token: no retry can fix it, and says join_failure", async () => {
    const p = new Scripted([new LeanError("rejected", "401")], ["ok"]);
    const c = clock();
    await reconnectEpisode(p, "ping-timeout", policy, c.sleep, c.now);
    expect(p.calls).toEqual(["resume:ping-timeout"]);
    expect(p.events.at(-1)).toEqual({ type: "disconnected", reason: "join_failure" });
  });

  it("ends quietly when the participant leaves meanwhile: no reconnected, no disconnected", async () => {
    const p = new Scripted([new Error("x")], ["ok"], () => {
      if (p.calls.length === 2) p.left = true;
    });
    const c = clock();
    const outcome = await reconnectEpisode(p, "subscriber-ice-failed", policy, c.sleep, c.now);
    expect(outcome.path).toBeUndefined();
    expect(p.events.map((e) => e.type)).toEqual(["reconnecting"]);
  });
});

describe("leaveAction", () => {
  it("reads the server's leave as LiveKit's SDKs do", () => {
    const leave = (action: LeaveRequest_Action, canReconnect = false): LeaveRequest =>
      new LeaveRequest({ action, canReconnect, reason: DisconnectReason.STATE_MISMATCH });
    expect(leaveAction(leave(LeaveRequest_Action.DISCONNECT))).toEqual({ stay: true });
    expect(leaveAction(leave(LeaveRequest_Action.RESUME))).toEqual({
      stay: false,
      cause: "server-leave-resume",
    });
    expect(leaveAction(leave(LeaveRequest_Action.RECONNECT))).toEqual({
      stay: false,
      cause: "server-leave-reconnect",
    });
    // an older server: no action, only canReconnect
    expect(leaveAction(leave(LeaveRequest_Action.DISCONNECT, true))).toEqual({
      stay: false,
      cause: "server-leave-reconnect",
    });
  });
});

describe("reasons", () => {
  it("writes disconnect reasons in the native engine's snake_case", () => {
    expect(disconnectReason(DisconnectReason.PARTICIPANT_REMOVED)).toBe("participant_removed");
    expect(disconnectReason(DisconnectReason.SERVER_SHUTDOWN)).toBe("server_shutdown");
  });

  it("names the reconnect reason a resume sends by what was lost", () => {
    expect(reconnectReason("signal-closed")).toBe(ReconnectReason.RR_SIGNAL_DISCONNECTED);
    expect(reconnectReason("ping-timeout")).toBe(ReconnectReason.RR_SIGNAL_DISCONNECTED);
    expect(reconnectReason("publisher-ice-failed")).toBe(ReconnectReason.RR_PUBLISHER_FAILED);
    expect(reconnectReason("subscriber-ice-failed")).toBe(ReconnectReason.RR_SUBSCRIBER_FAILED);
    expect(reconnectReason("server-leave-resume")).toBe(ReconnectReason.RR_UNKNOWN);
  });
});
