// Reconnect storm: many clients drop their signalling connection at once (a balancer restart, a
// network blip) and come straight back asking LiveKit to resume their session (`reconnect=1&sid=`).
// Each VU joins, holds STORM_HOLD_S (the same for all, so the drops bunch), drops without a leave
// and resumes; `storm_reconnect_duration` is the time to the server's first answer, tagged
// `answer: resumed` (a ReconnectResponse), `rejoined` (a full JoinResponse) or `leave`. LiveKit
// closes a participant that never connected media when its WebSocket closes, so signal-only
// resumes are mostly answered `leave`: this storm loads and times the resume path, not media
// recovery (a media swarm under `swarm chaos` measures that).
//   STORM_VUS clients (20)  STORM_DURATION (20s)  STORM_ROOMS (5)  STORM_HOLD_S (3)
//   thresholds: the join thresholds, STORM_RECONNECT_P95_MS (2000), STORM_MAX_RECONNECT_FAILURES (0)
import {
  SUMMARY_TREND_STATS,
  joinDropAndResume,
  joinThresholds,
  numberEnv,
  sessionSettings,
  target,
} from "./lib/livekit.js";

const { joinTimeoutMs, rooms } = sessionSettings({ holdMin: 3, holdMax: 3, rooms: 5 });
const holdS = numberEnv("STORM_HOLD_S", 3);

export const options = {
  scenarios: {
    reconnect: {
      executor: "constant-vus",
      vus: numberEnv("STORM_VUS", 20),
      duration: __ENV.STORM_DURATION || "20s",
      gracefulStop: `${Math.ceil(holdS + (2 * joinTimeoutMs) / 1000) + 5}s`,
    },
  },
  thresholds: {
    ...joinThresholds(),
    storm_reconnect_duration: [`p(95)<${numberEnv("STORM_RECONNECT_P95_MS", 2000)}`],
    storm_reconnect_failures: [`count<=${numberEnv("STORM_MAX_RECONNECT_FAILURES", 0)}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

const t = target();

export default function () {
  joinDropAndResume(t, {
    room: `${t.prefix}-room-${__VU % rooms}`,
    identity: `${t.prefix}-resume-${__VU}-${__ITER}`,
    holdS,
    joinTimeoutMs,
    tags: { phase: "reconnect" },
  });
}
