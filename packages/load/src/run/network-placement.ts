/**
 * Where a run's participants sit on the network (client network profiles, docs/transport.md): the
 * share of participants per profile, which participant gets which profile, and how a worker
 * process is started inside a profile's namespace. Pure, so the orchestrator's wiring stays small;
 * the namespaces themselves are the testbed's (createClientNetworks).
 */
import { KnownError, type Scenario } from "@livekit-swarm/schema";
import { CLIENT_NAMESPACE_PREFIX, networkProfiles, type NetworkProfile } from "@livekit-swarm/testbed";
import { checkProfiles } from "../engine/engine.js";
import type { ParticipantPlan } from "./messages.js";
import { planRun, shapeOf, shardByRoom, type RunPlan } from "./plan.js";

/** The share of a run's participants per profile, e.g. { open: 0.8, "udp-blocked": 0.15, "tcp-only": 0.05 }. */
export type ProfileShares = Readonly<Partial<Record<NetworkProfile, number>>>;

export class NetworkPlacementError extends KnownError<"bad-shares" | "bad-namespace" | "local-only"> {
  override readonly name = "NetworkPlacementError";
}

/** Refuses shares that are not profiles, not 0 to 1, or do not add up to 1 (100%). */
export function checkShares(shares: ProfileShares): void {
  const entries = Object.entries(shares);
  for (const [profile, share] of entries) {
    if (!(networkProfiles as readonly string[]).includes(profile))
      throw new NetworkPlacementError(
        "bad-shares",
        `network profiles: "${profile}" is not a profile: use ${networkProfiles.join(", ")}`,
      );
    if (typeof share !== "number" || !Number.isFinite(share) || share < 0 || share > 1)
      throw new NetworkPlacementError("bad-shares", `network profiles: ${profile} must be 0% to 100%`);
  }
  const total = entries.reduce((a, [, s]) => a + s, 0);
  if (Math.abs(total - 1) > 1e-9)
    throw new NetworkPlacementError(
      "bad-shares",
      `network profiles: the shares add up to ${(total * 100).toFixed(1)}%, not 100%: adjust them`,
    );
}

/**
 * Gives each participant a profile, in plan order, so that after every participant each profile's
 * count is as close to its share as whole participants allow (largest lag first, ties in the
 * order of `networkProfiles`): the profiles interleave over rooms instead of filling the last ones.
 */
export function assignProfiles(
  participants: readonly ParticipantPlan[],
  shares: ProfileShares,
): Map<NetworkProfile, ParticipantPlan[]> {
  checkShares(shares);
  const profiles = networkProfiles.filter((p) => (shares[p] ?? 0) > 0);
  const placed = new Map<NetworkProfile, ParticipantPlan[]>(profiles.map((p) => [p, []]));
  participants.forEach((participant, i) => {
    let best: NetworkProfile | undefined;
    let bestLag = -Infinity;
    for (const profile of profiles) {
      const lag = (i + 1) * (shares[profile] ?? 0) - (placed.get(profile)?.length ?? 0);
      if (lag > bestLag) {
        best = profile;
        bestLag = lag;
      }
    }
    if (best !== undefined) placed.get(best)?.push(participant);
  });
  return placed;
}

/**
 * The plan with each participant's profile set (`assignProfiles`), in plan order. Shares that put
 * everyone on `open` leave the plan as it was: no namespace is needed.
 */
export function placeProfiles(
  participants: readonly ParticipantPlan[],
  shares: ProfileShares,
): ParticipantPlan[] {
  const profileOf = new Map<ParticipantPlan, NetworkProfile>();
  for (const [profile, placed] of assignProfiles(participants, shares))
    for (const p of placed) profileOf.set(p, profile);
  if ([...profileOf.values()].every((profile) => profile === "open")) return [...participants];
  return participants.map((p) => {
    const profile = profileOf.get(p);
    return profile === undefined ? p : { ...p, profile };
  });
}

/**
 * A scenario's plan with its participants placed on its network profiles (`placeProfiles`), or as
 * planned when it has none: what every runner of a scenario (a run, a bench point) starts from.
 * Refuses a participant placed behind a profile its engine cannot connect from (`checkProfiles`).
 */
export function planPlaced(scenario: Scenario): RunPlan {
  const planned = planRun(shapeOf(scenario));
  if (scenario.networkProfiles === undefined) return planned;
  const participants = placeProfiles(planned.participants, scenario.networkProfiles);
  checkProfiles(participants, scenario.engine);
  return { ...planned, participants };
}

/** The restrictive profiles a placed plan uses, in `networkProfiles` order: one namespace each. */
export function restrictiveProfiles(
  participants: readonly Pick<ParticipantPlan, "profile">[],
): Exclude<NetworkProfile, "open">[] {
  const used = new Set(participants.map((p) => p.profile));
  return networkProfiles.filter((p): p is Exclude<NetworkProfile, "open"> => p !== "open" && used.has(p));
}

/**
 * Worker shards of a placed plan: a worker's participants share one profile, since the worker's
 * process sits in that profile's namespace; within a profile, rooms are sharded as in any run.
 * Each profile gets workers in proportion to its participants, at least one.
 */
export function shardByProfile(
  plan: RunPlan,
  workers: number,
): { readonly profile: NetworkProfile | undefined; readonly participants: ParticipantPlan[] }[] {
  const groups = new Map<NetworkProfile | undefined, ParticipantPlan[]>();
  for (const p of plan.participants) {
    const group = groups.get(p.profile);
    if (group === undefined) groups.set(p.profile, [p]);
    else group.push(p);
  }
  return [...groups].flatMap(([profile, participants]) => {
    const rooms = [...new Set(participants.map((p) => p.room))];
    const share = Math.max(1, Math.round((workers * participants.length) / plan.participants.length));
    return shardByRoom({ ...plan, participants, rooms }, share).map((shard) => ({
      profile,
      participants: shard,
    }));
  });
}

const NAMESPACE = new RegExp(`^${CLIENT_NAMESPACE_PREFIX}[0-9a-f]{4}n[0-9]{1,2}$`);

/**
 * `fork` options that start a worker inside a client namespace: `ip netns exec <namespace> node
 * <worker>`. `ip` keeps the environment and the IPC descriptor, so the worker talks to the
 * orchestrator as any other. The name goes on a command line: only our own names are accepted.
 */
export function forkInNamespace(
  namespace: string,
  nodePath: string = process.execPath,
): { execPath: string; execArgv: string[] } {
  if (!NAMESPACE.test(namespace))
    throw new NetworkPlacementError(
      "bad-namespace",
      `"${namespace}" is not a client namespace of ours (${CLIENT_NAMESPACE_PREFIX}<tag>n<i>)`,
    );
  return { execPath: "ip", execArgv: ["netns", "exec", namespace, nodePath] };
}
