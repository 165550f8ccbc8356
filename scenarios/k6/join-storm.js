// Join storm: an arrival rate of joins (constant, or ramping up to it), each a signal-only
// participant that joins a room over /rtc, holds for a drawn time and leaves.
//   STORM_RATE joins/s (10)       STORM_DURATION at full rate (30s)   STORM_EXECUTOR constant|ramping
//   STORM_RAMP (10s, ramping)     STORM_ROOMS rooms shared (10)        STORM_VUS most VUs at once
//   STORM_HOLD_MIN_S/STORM_HOLD_MAX_S (2/8)    STORM_JOIN_TIMEOUT_MS (10000)
//   thresholds: STORM_JOIN_P95_MS (1000) STORM_JOIN_P99_MS (2000) STORM_MAX_FAILURES (0)
// Holds stay under a minute: LiveKit drops a participant whose PeerConnection never came up 60 s
// after it joined (docs/signalling-storm.md), which would read as churn the storm never asked for.
import {
  SUMMARY_TREND_STATS,
  drawHoldS,
  joinAndHold,
  joinThresholds,
  numberEnv,
  sessionSettings,
  target,
} from "./lib/livekit.js";

const rate = numberEnv("STORM_RATE", 10);
const duration = __ENV.STORM_DURATION || "30s";
const { holdMin, holdMax, joinTimeoutMs, rooms } = sessionSettings({ holdMin: 2, holdMax: 8, rooms: 10 });
// every participant alive at once needs a VU: rate x (join + hold), with room for slow joins
const needed = Math.ceil(rate * (holdMax + joinTimeoutMs / 1000 / 2)) + 5;
const maxVUs = numberEnv("STORM_VUS", needed);
const preAllocatedVUs = Math.min(maxVUs, Math.ceil((rate * (holdMin + holdMax)) / 2) + 5);

const executors = {
  constant: { executor: "constant-arrival-rate", rate, timeUnit: "1s", duration, preAllocatedVUs, maxVUs },
  ramping: {
    executor: "ramping-arrival-rate",
    startRate: 1,
    timeUnit: "1s",
    preAllocatedVUs,
    maxVUs,
    stages: [
      { target: rate, duration: __ENV.STORM_RAMP || "10s" },
      { target: rate, duration },
    ],
  },
};
const kind = __ENV.STORM_EXECUTOR || "constant";
if (executors[kind] === undefined)
  throw new Error(`STORM_EXECUTOR: expected constant or ramping, got ${kind}`);

export const options = {
  scenarios: {
    join_storm: { ...executors[kind], gracefulStop: `${Math.ceil(holdMax + joinTimeoutMs / 1000) + 5}s` },
  },
  thresholds: joinThresholds(),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

const t = target();

export default function () {
  const n = __VU * 1000000 + __ITER;
  joinAndHold(t, {
    room: `${t.prefix}-room-${n % rooms}`,
    identity: `${t.prefix}-${__VU}-${__ITER}`,
    holdS: drawHoldS(holdMin, holdMax),
    joinTimeoutMs,
    tags: { phase: "join" },
  });
}
