// Leave/rejoin churn: a steady population of signal-only participants, each leaving and joining
// again with the same identity every few seconds (a flaky classroom, tabs reopened).
//   STORM_VUS participants (20)  STORM_DURATION (30s)  STORM_ROOMS (5)
//   STORM_HOLD_MIN_S/STORM_HOLD_MAX_S in the room (1/4)   STORM_GAP_S away between visits (0.5)
//   thresholds as in join-storm.js
import { sleep } from "k6";
import {
  SUMMARY_TREND_STATS,
  drawHoldS,
  joinAndHold,
  joinThresholds,
  numberEnv,
  sessionSettings,
  target,
} from "./lib/livekit.js";

const { holdMin, holdMax, joinTimeoutMs, rooms } = sessionSettings({ holdMin: 1, holdMax: 4, rooms: 5 });
const gapS = numberEnv("STORM_GAP_S", 0.5);

export const options = {
  scenarios: {
    churn: {
      executor: "constant-vus",
      vus: numberEnv("STORM_VUS", 20),
      duration: __ENV.STORM_DURATION || "30s",
      gracefulStop: `${Math.ceil(holdMax + joinTimeoutMs / 1000) + 5}s`,
    },
  },
  thresholds: joinThresholds(),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

const t = target();

export default function () {
  // the same identity for every visit of this VU: a rejoin, not a new participant
  joinAndHold(t, {
    room: `${t.prefix}-room-${__VU % rooms}`,
    identity: `${t.prefix}-churn-${__VU}`,
    holdS: drawHoldS(holdMin, holdMax),
    joinTimeoutMs,
    tags: { phase: "rejoin" },
  });
  sleep(gapS);
}
