/** Participants of several engines in one room of a testbed, as the engine e2e tests drive them. */
import { existsSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { AccessToken } from "livekit-server-sdk";
import { expect } from "vitest";
import { DEFAULT_CHROMIUM } from "@livekit-swarm/browser";
import { leftovers } from "@livekit-swarm/test-kit";
import type { Testbed } from "@livekit-swarm/testbed";
import { ENGINE_ATTRIBUTE, type Engine, type EngineParticipant } from "../src/engine/engine.js";
import type { EngineName, ParticipantEvent, ParticipantPlan, WindowSample } from "../src/run/messages.js";

/** Whether a browser test against a namespaced testbed can run here, and the reason it says when not. */
export const browserTestbed = (() => {
  const isRoot = process.getuid?.() === 0;
  const hasChromium = existsSync(DEFAULT_CHROMIUM);
  const skipped =
    isRoot && hasChromium
      ? ""
      : ` [SKIPPED: needs root (network namespaces) and ${DEFAULT_CHROMIUM} (scripts/setup)]`;
  return { isRoot, hasChromium, skipped };
})();

export interface Member {
  readonly plan: ParticipantPlan;
  readonly participant: EngineParticipant;
  readonly events: ParticipantEvent[];
}

/**
 * The plans of a room of two publishers (index 0 and 1, audio, and video when `video`) and
 * subscribers (index -1) that receive both; with video, the subscribers are latency probes.
 */
export function roomPlans(room: string, video: boolean) {
  return (engine: EngineName, identity: string, publisherIndex: number): ParticipantPlan => {
    const publishes = publisherIndex >= 0;
    return {
      engine,
      room,
      identity,
      role: publishes ? "publisher" : "subscriber",
      publishAudio: publishes,
      publishVideo: publishes && video,
      publisherIndex,
      subscribe: !publishes,
      probe: !publishes && video,
      expectedTracks: publishes ? { audio: 0, video: 0 } : { audio: 2, video: video ? 2 : 0 },
      joinAtMs: 0,
    };
  };
}

/** A join token as the swarm mints it: the grants the plan needs, the engine in an attribute. */
async function token(tb: Testbed, p: ParticipantPlan): Promise<string> {
  const at = new AccessToken(tb.apiKey, tb.apiSecret, {
    identity: p.identity,
    ttl: "10m",
    attributes: { [ENGINE_ATTRIBUTE]: p.engine },
  });
  at.addGrant({ roomJoin: true, room: p.room, canPublish: p.publishAudio, canSubscribe: p.subscribe });
  return at.toJwt();
}

/** Joins each plan on its engine, in order, into `members`; a failed join fails the test with its events. */
export async function joinMembers(
  tb: Testbed,
  engines: ReadonlyMap<EngineName, Engine>,
  plans: readonly ParticipantPlan[],
  members: Member[],
): Promise<void> {
  for (const p of plans) {
    const engine = engines.get(p.engine);
    if (engine === undefined) throw new Error(`no ${p.engine} engine`);
    const events: ParticipantEvent[] = [];
    const participant = engine.participant(p, (e) => events.push(e));
    members.push({ plan: p, participant, events });
    expect(
      await participant.join(tb.url, await token(tb, p)),
      `${p.identity} joins: ${JSON.stringify(events)}`,
    ).toBe(true);
  }
}

/**
 * Each member's window over the next `ms` (a first sample opens it): what a member sent and received,
 * by identity. A member with no window fails the test.
 */
export async function windowsOver(
  members: readonly Member[],
  ms: number,
): Promise<Map<string, WindowSample>> {
  for (const m of members) await m.participant.sample(0);
  await delay(ms);
  const samples = new Map<string, WindowSample>();
  for (const m of members) {
    const s = await m.participant.sample(0);
    expect(s, `${m.plan.identity} has a window`).toBeDefined();
    if (s !== undefined) samples.set(m.plan.identity, s);
  }
  console.log(JSON.stringify([...samples.values()]));
  return samples;
}

/** Everyone leaves, the engines close, the testbed stops, and nothing of it is left running. */
export async function leaveMembers(
  members: readonly Member[],
  engines: ReadonlyMap<EngineName, Engine>,
  tb: Testbed | undefined,
): Promise<void> {
  await Promise.allSettled(members.map((m) => m.participant.leave()));
  await Promise.allSettled([...engines.values()].map((e) => e.close()));
  await tb?.stop();
  if (tb !== undefined) expect(leftovers(tb.runDir)).toEqual([]);
}
