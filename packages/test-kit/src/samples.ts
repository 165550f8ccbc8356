import { existsSync, readFileSync } from "node:fs";
import { inboundTrackSample, type InboundTrackSample, type WindowSample } from "@livekit-swarm/schema";

/**
 * One inbound track's window, every counter zero unless given; `received` follows from `expected`
 * and `lost`, as a real window's would. Tests name only the figures they are about.
 */
export function inboundTrack(
  track: Partial<InboundTrackSample> & Pick<InboundTrackSample, "key" | "kind">,
): InboundTrackSample {
  const expected = track.expected ?? 0;
  const lost = track.lost ?? 0;
  return inboundTrackSample({ expected, lost, received: expected - lost, ...track });
}

/** One participant's sampling window: a subscriber on worker 0 that received and sent nothing, unless given. */
export function windowSample(
  window: Partial<WindowSample> & Pick<WindowSample, "t" | "room" | "participant">,
): WindowSample {
  return {
    durationMs: 5000,
    role: "subscriber",
    worker: 0,
    inbound: [],
    outbound: [],
    rttS: undefined,
    dataSent: 0,
    dataReceived: 0,
    ...window,
  };
}

/** The lines of a run's samples.jsonl or events.jsonl so far; none while the file is not there yet. */
export function runLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}
