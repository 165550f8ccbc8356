import type { ParticipantEvent, RoomPlacement } from "@livekit-swarm/schema";
import { describe, expect, it } from "vitest";
import { LeanError } from "./errors.js";
import {
  DEFAULT_RECONNECT_POLICY,
  type EpisodeOutcome,
  type ReconnectCause,
  type Reconnectable,
} from "./reconnect.js";
import { Reconnection } from "./reconnection.js";

/** A participant whose resume and rejoin are never called: the episode is scripted instead. */
class Session implements Reconnectable {
  left = false;
  async resume(): Promise<void> {
    return Promise.reject(new Error("the scripted episode calls no resume"));
  }
  async rejoin(): Promise<void> {
    return Promise.reject(new Error("the scripted episode calls no rejoin"));
  }
  over(): boolean {
    return this.left;
  }
  placement(): RoomPlacement {
    return {};
  }
  readonly events: ParticipantEvent[] = [];
  emit(event: ParticipantEvent): void {
    this.events.push(event);
  }
}

/** A Reconnection whose episodes end when the test says, with the outcome it gives. */
function scripted(joined = true): {
  reconnection: Reconnection;
  session: Session;
  said: string[];
  episodes: ReconnectCause[];
  finish: (outcome: EpisodeOutcome) => Promise<void>;
} {
  const session = new Session();
  const said: string[] = [];
  const episodes: ReconnectCause[] = [];
  const pending: ((outcome: EpisodeOutcome) => void)[] = [];
  const reconnection = new Reconnection(
    session,
    {
      joined: () => joined,
      ended: (reason) => said.push(`ended: ${reason}`),
      closeSignal: () => said.push("close signal"),
      gaveUp: () => said.push("gave up"),
    },
    DEFAULT_RECONNECT_POLICY,
    async (_session, cause) => {
      episodes.push(cause);
      return new Promise((resolve) => pending.push(resolve));
    },
  );
  return {
    reconnection,
    session,
    said,
    episodes,
    finish: async (outcome) => {
      pending.shift()?.(outcome);
      // the episode's continuation runs on the microtask queue
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const resumed: EpisodeOutcome = { path: "resume", attempts: 1, failures: [] };
const gaveUp: EpisodeOutcome = { path: undefined, attempts: 10, failures: ["resume: refused"] };

describe("Reconnection", () => {
  it("starts one episode for a loss of a joined session, closing the lost signalling first", async () => {
    const r = scripted();
    r.reconnection.lost("signal-closed");
    expect(r.reconnection.busy).toBe(true);
    expect(r.said).toEqual(["close signal"]);
    expect(r.episodes).toEqual(["signal-closed"]);
    await r.finish(resumed);
    expect(r.reconnection.busy).toBe(false);
    expect(r.reconnection.last).toEqual(resumed);
  });

  it("a loss during an episode fails the attempt under way and starts no second episode", () => {
    const r = scripted();
    r.reconnection.lost("signal-closed");
    r.reconnection.attemptStarts();
    expect(r.reconnection.lostDuringAttempt).toBe(false);
    r.reconnection.lost("subscriber-ice-failed");
    expect(r.episodes).toEqual(["signal-closed"]);
    // the attempt's waits can stop at once
    expect(r.reconnection.lostDuringAttempt).toBe(true);
    expect(() => {
      r.reconnection.attemptHeld("resume");
    }).toThrow(new LeanError("closed", "lost again during the resume (subscriber-ice-failed)"));
    // the attempt's look consumed it: the next attempt starts clean
    expect(r.reconnection.lostDuringAttempt).toBe(false);
    expect(() => {
      r.reconnection.attemptHeld("full rejoin");
    }).not.toThrow();
  });

  it("a loss after the attempt's last look starts the next episode once this one ends", async () => {
    const r = scripted();
    r.reconnection.lost("signal-closed");
    r.reconnection.attemptStarts();
    r.reconnection.attemptHeld("resume");
    r.reconnection.lost("server-leave-reconnect");
    await r.finish(resumed);
    expect(r.episodes).toEqual(["signal-closed", "server-leave-reconnect"]);
    expect(r.reconnection.busy).toBe(true);
  });

  it("an episode that gives up says so to the participant and starts no other", async () => {
    const r = scripted();
    r.reconnection.lost("ping-timeout");
    r.reconnection.lost("signal-closed");
    await r.finish(gaveUp);
    expect(r.said).toEqual(["close signal", "gave up"]);
    expect(r.episodes).toEqual(["ping-timeout"]);
    expect(r.reconnection.last).toEqual(gaveUp);
  });

  it("before the join finished, a lost socket ends the session and a media loss is left to the join's waits", () => {
    const r = scripted(false);
    r.reconnection.lost("subscriber-ice-failed");
    expect(r.said).toEqual([]);
    r.reconnection.lost("ping-timeout");
    expect(r.said).toEqual(["ended: signalling lost (ping-timeout) while joining"]);
    expect(r.episodes).toEqual([]);
  });

  it("does nothing for a participant that left", () => {
    const r = scripted();
    r.session.left = true;
    r.reconnection.lost("signal-closed");
    expect(r.episodes).toEqual([]);
    expect(r.said).toEqual([]);
  });
});
