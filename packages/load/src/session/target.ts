import { mkdirSync, readdirSync, rmSync, rmdirSync, statSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MAX_DURATION, formatDuration, type Scenario, KnownError } from "@livekit-swarm/schema";
import {
  Testbed,
  defaultRunRoot,
  down,
  listTestbeds,
  startClientTestbed,
  TURN_DOMAIN,
  type ClientNetwork,
  type ClientTestbed,
  type NetworkProfile,
} from "@livekit-swarm/testbed";
import { preflight } from "../preflight.js";
import { NetworkPlacementError } from "../run/network-placement.js";
import type { ClientNetworkPlace, RunTarget } from "../run/orchestrator.js";

/** A run the session refuses before it starts anything; the message names the fix. */
export class RunSessionError extends KnownError<
  "no-participants" | "too-many-participants" | "too-long" | "cloud-limit" | "output" | "turn-needs-testbed"
> {
  override readonly name = "RunSessionError";
}

/**
 * The most participants one run plans. The plan is built in memory before the first join, and one
 * generator holds a few hundred participants per core (docs/engine-costs.md): past this a run is a
 * typo, and refusing it beats running out of memory.
 */
export const MAX_RUN_PARTICIPANTS = 100_000;

/**
 * At most MAX_RUN_PARTICIPANTS, and a ramp (joins at num-per-second) plus hold within MAX_DURATION:
 * `--num-per-second 0.01` over 10 000 participants would join for eleven days.
 */
export function checkRunSize(scenario: Scenario): void {
  const { rooms, numPerSecond, duration } = scenario;
  const perRoom = Math.max(scenario.videoPublishers, scenario.audioPublishers) + scenario.subscribers;
  const participants = rooms * perRoom;
  if (participants > MAX_RUN_PARTICIPANTS)
    throw new RunSessionError(
      "too-many-participants",
      `${participants} participants (${rooms} rooms x ${perRoom}): one run plans at most ${MAX_RUN_PARTICIPANTS}; lower --rooms or the participants per room, or shard the load over several machines`,
    );
  const rampMs = Math.round((participants / numPerSecond) * 1000);
  if (rampMs + duration > MAX_DURATION)
    throw new RunSessionError(
      "too-long",
      `joining ${participants} participants at ${numPerSecond} per second takes ${formatDuration(rampMs)}, and with the ${formatDuration(duration)} hold the run would last over ${formatDuration(MAX_DURATION)}; raise --num-per-second or shorten --duration`,
    );
}

/** LiveKit Cloud's acceptable-use policy caps a load test at this many participants (as `lk load-test`). */
export const LIVEKIT_CLOUD_MAX_PARTICIPANTS = 50;

export function isLivekitCloud(url: string): boolean {
  try {
    return new URL(url.replace(/^ws/, "http")).hostname.endsWith(".livekit.cloud");
  } catch {
    return false;
  }
}

export function checkCloudLimit(target: RunTarget | undefined, participants: number): void {
  if (target === undefined || !isLivekitCloud(target.url)) return;
  if (participants <= LIVEKIT_CLOUD_MAX_PARTICIPANTS) return;
  throw new RunSessionError(
    "cloud-limit",
    `${participants} participants against LiveKit Cloud: its acceptable-use policy allows at most ${LIVEKIT_CLOUD_MAX_PARTICIPANTS} in a load test (as lk load-test enforces); lower --rooms/--subscribers or test a self-hosted server`,
  );
}

/** The server a run goes against, and what to stop once it is over (nothing for a given server). */
export interface OpenedTarget {
  readonly target: RunTarget;
  /** Where each restrictive profile's participants run; empty without profiles. */
  readonly networks: ReadonlyMap<NetworkProfile, ClientNetworkPlace>;
  stop(): Promise<void>;
}

/**
 * The server a run goes against: the given one once preflight has checked its URL and keys, or
 * else a one-node testbed started for the run, behind client networks for `profiles` when the
 * plan places participants behind restrictive ones (the caller stops it).
 */
export async function openTarget(
  target: RunTarget | undefined,
  log: (line: string) => void,
  profiles: readonly Exclude<NetworkProfile, "open">[] = [],
  turn = false,
): Promise<OpenedTarget> {
  if (target !== undefined) {
    if (turn)
      throw new RunSessionError(
        "turn-needs-testbed",
        "--turn runs LiveKit's built-in TURN on the testbed the run starts, not on a given server: drop --url, or drop --turn",
      );
    if (profiles.length > 0)
      throw new NetworkPlacementError(
        "local-only",
        `network-profiles (${profiles.join(", ")}) place participants in network namespaces in front of a local testbed the run starts: drop --url, or remove network-profiles from the scenario`,
      );
    await preflight(target.url, target.apiKey, target.apiSecret);
    return {
      target: { ...target, ...testbedMediaHosts(target) },
      networks: new Map(),
      stop: () => Promise.resolve(),
    };
  }
  log("no --url: starting an embedded local LiveKit (testbed)...");
  await sweepOrphanedTestbeds();
  if (profiles.length > 0) {
    const bed = await startClientTestbed(profiles, { name: `swarm-${process.pid}`, turn });
    const { target, networks } = clientTestbedTarget(bed, log);
    return {
      target,
      networks,
      stop: async () => {
        await bed.stop();
      },
    };
  }
  const testbed = await Testbed.start({ name: `swarm-${process.pid}`, ...(turn ? { turn: true } : {}) });
  const mediaHosts = testbed.nodes.map((n) => n.ip);
  return {
    target: { url: testbed.url, apiKey: testbed.apiKey, apiSecret: testbed.apiSecret, mediaHosts },
    networks: new Map(),
    stop: async () => {
      await testbed.stop();
    },
  };
}

function placeOf(net: ClientNetwork, url: string): ClientNetworkPlace {
  return { namespace: net.namespace, address: net.nodeIp, url };
}

/**
 * A run's target on a testbed with client network namespaces (a run's own or a drill's): its URL,
 * keys and media host, TURN's TLS trust when it has one, and each profile's place; `log` is told
 * where the profiles and TURN are.
 */
export function clientTestbedTarget(
  bed: ClientTestbed,
  log: (line: string) => void,
): { target: RunTarget; networks: Map<NetworkProfile, ClientNetworkPlace> } {
  log(`client network profiles: ${bed.networks.map((n) => `${n.profile} in ${n.namespace}`).join(", ")}`);
  if (bed.turnUdpPorts.length > 0)
    log(
      `LiveKit's built-in TURN on UDP ${bed.turnUdpPorts.join(", ")}${bed.turnTls !== undefined ? ` and TLS ${bed.turnTls.port} (443 in the udp-blocked and tcp-only namespaces)` : ""}`,
    );
  return {
    target: {
      url: bed.url,
      apiKey: bed.testbed.apiKey,
      apiSecret: bed.testbed.apiSecret,
      mediaHosts: [bed.mediaHost],
      ...(bed.turnTls !== undefined
        ? { turnTls: { name: TURN_DOMAIN, host: bed.mediaHost, spki: bed.turnTls.spki } }
        : {}),
    },
    networks: new Map(bed.networks.map((n) => [n.profile, placeOf(n, bed.url)])),
  };
}

/**
 * A URL that is a testbed's of this machine (its balancer or its one node) carries media to the
 * testbed's nodes, which may sit in network namespaces behind a loopback balancer: their addresses
 * tell which interfaces the native engine needs (run/ice-scope.ts).
 */
function testbedMediaHosts(target: RunTarget): { mediaHosts?: readonly string[] } {
  if (target.mediaHosts !== undefined) return {};
  const testbed = listTestbeds().find((tb) => tb.url === target.url);
  return testbed === undefined ? {} : { mediaHosts: testbed.nodes.map((n) => n.ip) };
}

/**
 * Embedded testbeds are named swarm-<pid of the run>. A run killed hard (SIGKILL, a closed pipe)
 * cannot stop its own; the next embedded run takes down those whose run is gone.
 */
async function sweepOrphanedTestbeds(): Promise<void> {
  const gone = (name: string): boolean => {
    const owner = /^swarm-(\d+)$/.exec(name);
    if (owner === null) return false;
    try {
      process.kill(Number(owner[1]), 0);
      return false;
    } catch {
      return true;
    }
  };
  for (const tb of listTestbeds()) if (gone(tb.name)) await down(tb.runDir);
  // and the folders those and older runs left (their keys in the nodes' configs): down already
  let names: string[] = [];
  try {
    names = readdirSync(defaultRunRoot());
  } catch {
    // no run root yet
  }
  // an hour after it went down: a reader (a test, someone after a failed run) has had its logs
  const stale = (dir: string): boolean => {
    try {
      return Date.now() - statSync(dir).mtimeMs > RUN_DIR_KEPT_MS;
    } catch {
      return false;
    }
  };
  for (const name of names) {
    const dir = join(defaultRunRoot(), name);
    if (gone(name) && stale(dir)) removeRunDir(dir);
  }
}

/** How long the folder of a finished embedded run stays for its logs: then the next run removes it. */
const RUN_DIR_KEPT_MS = 3_600_000;

/**
 * The folder of an embedded testbed whose run is gone: one was left per run, for ever, each with
 * the key and secret in its nodes' configs. The next embedded run removes those of runs gone.
 */
function removeRunDir(runDir: string): void {
  try {
    rmSync(runDir, { recursive: true, force: true });
  } catch {
    // a folder we cannot remove stays; the next embedded run tries again
  }
}

/** The output folder may be missing (it is created) but not a file. */
export function checkOutputDir(dir: string): void {
  const refuse = (problem: string): never => {
    throw new RunSessionError(
      "output",
      `the output folder ${dir} ${problem}: pass another folder with --output`,
    );
  };
  let missing: string | undefined;
  for (let at = resolve(dir); ; at = dirname(at)) {
    let stat: Stats | undefined;
    try {
      stat = statSync(at, { throwIfNoEntry: false });
    } catch (err) {
      return refuse(`cannot be used (${errnoOf(err)} at ${at})`);
    }
    if (stat !== undefined) {
      if (!stat.isDirectory()) refuse(at === resolve(dir) ? "is a file" : `is under ${at}, a file`);
      break;
    }
    missing = at;
    if (dirname(at) === at) break;
  }
  if (missing === undefined) return;
  // created and removed at once: a folder that cannot be made is known before the run, and a run
  // that fails later leaves nothing behind
  try {
    mkdirSync(missing);
    rmdirSync(missing);
  } catch (err) {
    refuse(`cannot be created (${errnoOf(err)} at ${missing})`);
  }
}

function errnoOf(err: unknown): string {
  return errnoCode(err) ?? String(err);
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

function errnoPath(err: unknown): string | undefined {
  return err instanceof Error && "path" in err && typeof err.path === "string" ? err.path : undefined;
}

/** What a failed write's errno says of the output folder, and the fix. */
function folderTrouble(code: string): readonly [what: string, fix: string] {
  const elsewhere = "or pass another with --output";
  if (code === "ENOENT")
    return [
      "it was removed while the run went on, and the samples and events written there with it",
      `Keep the folder in place until the run ends, ${elsewhere}`,
    ];
  if (code === "ENOTDIR")
    return [
      "it (or a folder above it) was replaced by a file while the run went on",
      `Keep the folder in place until the run ends, ${elsewhere}`,
    ];
  if (code === "ENOSPC" || code === "EDQUOT") return ["its disk is full", `Free space there, ${elsewhere}`];
  if (code === "EACCES" || code === "EPERM" || code === "EROFS")
    return [
      "it became unwritable while the run went on",
      `Keep it writable until the run ends, ${elsewhere}`,
    ];
  return ["it could not be written", `Check the folder, ${elsewhere}`];
}

/**
 * A write into the output folder that failed once the run had measured (summary.json, the
 * manifest, metrics.prom) as the run's error, naming what happened to the folder; undefined for
 * an error that is not the filesystem's. Whoever throws it has shown the summary table first.
 */
export function outputNotWritten(err: unknown, outputDir: string): RunSessionError | undefined {
  const code = errnoCode(err);
  if (code === undefined) return undefined;
  const [what, fix] = folderTrouble(code);
  return new RunSessionError(
    "output",
    `the run's reports could not be written to the output folder ${outputDir} (${code} at ${errnoPath(err) ?? outputDir}): ${what}; the summary shown is what was measured. ${fix}`,
    { cause: err },
  );
}
