import { describe, expect, it } from "vitest";
import { parseScenario } from "@livekit-swarm/schema";
import { K8sError } from "./errors.js";
import {
  PARTICIPANT_COSTS,
  POD_BASE,
  REQUEST_HEADROOM,
  largestShard,
  participantCost,
  podSize,
  shardEngine,
} from "./sizing.js";

const audio = parseScenario(
  "rooms: 10\nvideo-publishers: 0\naudio-publishers: 1\nsubscribers: 4\n",
  "audio.yaml",
);
const video360 = parseScenario(
  "rooms: 8\nvideo-publishers: 1\naudio-publishers: 0\nsubscribers: 4\n",
  "video.yaml",
);
const video720 = parseScenario(
  "rooms: 8\nvideo-publishers: 1\nsubscribers: 4\nvideo:\n  resolution: 720p\n",
  "hd.yaml",
);

describe("largestShard", () => {
  it("is ceil(rooms / shards) whole rooms of the scenario's participants", () => {
    expect(largestShard(audio, 1)).toEqual({ rooms: 10, participants: 50 });
    expect(largestShard(audio, 3)).toEqual({ rooms: 4, participants: 20 });
    expect(largestShard(audio, 10)).toEqual({ rooms: 1, participants: 5 });
  });

  it("refuses more shards than rooms, naming both", () => {
    expect(() => largestShard(audio, 11)).toThrow(K8sError);
    expect(() => largestShard(audio, 11)).toThrow(/--shards 11 is more than the scenario's 10 rooms/);
    expect(() => largestShard(audio, 0)).toThrow(/whole number from 1/);
  });
});

describe("participantCost", () => {
  it("takes the audio figure of the engine for rooms without video", () => {
    expect(participantCost(audio, "native")).toBe(PARTICIPANT_COSTS.native.audio);
    expect(participantCost(audio, "lean")).toBe(PARTICIPANT_COSTS.lean.audio);
    expect(PARTICIPANT_COSTS.lean.audio.cpuSecondsPerMinute).toBeLessThan(
      PARTICIPANT_COSTS.native.audio.cpuSecondsPerMinute,
    );
  });

  it("takes the 360p video figure at 360p and scales it by pixels above", () => {
    expect(participantCost(video360, "native").cpuSecondsPerMinute).toBe(
      PARTICIPANT_COSTS.native.video.cpuSecondsPerMinute,
    );
    const hd = participantCost(video720, "native");
    expect(hd.cpuSecondsPerMinute).toBeCloseTo(PARTICIPANT_COSTS.native.video.cpuSecondsPerMinute * 4, 6);
    expect(hd.source).toMatch(/times 4\.00 for 1280x720/);
  });
});

describe("podSize", () => {
  it("requests the base plus the per-participant figure times participants, with headroom, in millicores and MiB", () => {
    const size = podSize(audio, "native", 50, 10);
    const cores = POD_BASE.cpuCores + (0.58 / 60) * 50 * REQUEST_HEADROOM;
    expect(size.requests.cpu).toBe(`${Math.ceil(cores * 1000)}m`);
    expect(size.requests.memory).toBe(`${Math.ceil(POD_BASE.memoryMiB + 5.9 * 50 * REQUEST_HEADROOM)}Mi`);
    expect(size.limits.cpu).toBe(`${Math.ceil(cores * 1000) * 2}m`);
  });

  it("grows with participants and costs lean less than native", () => {
    const milli = (q: string) => Number(q.replace(/m$/, ""));
    expect(milli(podSize(audio, "native", 500, 100).requests.cpu)).toBeGreaterThan(
      milli(podSize(audio, "native", 50, 10).requests.cpu),
    );
    expect(milli(podSize(audio, "lean", 500, 100).requests.cpu)).toBeLessThan(
      milli(podSize(audio, "native", 500, 100).requests.cpu),
    );
  });

  it("runs one worker process per core of participants, never more than rooms", () => {
    expect(podSize(audio, "native", 50, 10).workers).toBe(1);
    // 1000 audio participants at 0.58 CPU-s/p-min are 9.7 cores
    expect(podSize(audio, "native", 1000, 200).workers).toBe(10);
    expect(podSize(video720, "native", 100, 2).workers).toBe(2);
  });
});

describe("shardEngine: the engines a pod is sized for", () => {
  it("takes native and lean as they are", () => {
    expect(shardEngine("native", "x")).toBe("native");
    expect(shardEngine("lean", "x")).toBe("lean");
  });

  it.each(["browser", "mixed", ""])("refuses %j naming where it came from and the fix", (engine) => {
    expect(() => shardEngine(engine, "k8s render: s.yaml")).toThrow(
      `k8s render: s.yaml asks for engine ${engine}; the pods are sized for native or lean: pass --engine native or --engine lean`,
    );
  });
});
