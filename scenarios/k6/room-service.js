// RoomService load through Twirp JSON over HTTP: each iteration creates a room, lists rooms, joins
// one signal-only participant, lists the room's participants, updates that participant's metadata,
// leaves and deletes the room.
//   STORM_RATE iterations/s (5)  STORM_DURATION (30s)  STORM_VUS most at once
//   thresholds: STORM_API_P95_MS (500) STORM_MAX_API_FAILURES (0), and the join thresholds
import {
  SUMMARY_TREND_STATS,
  joinAndHold,
  joinThresholds,
  numberEnv,
  roomService,
  target,
} from "./lib/livekit.js";

const rate = numberEnv("STORM_RATE", 5);
const joinTimeoutMs = numberEnv("STORM_JOIN_TIMEOUT_MS", 10000);

export const options = {
  scenarios: {
    room_service: {
      executor: "constant-arrival-rate",
      rate,
      timeUnit: "1s",
      duration: __ENV.STORM_DURATION || "30s",
      preAllocatedVUs: Math.ceil(rate * 2) + 2,
      maxVUs: numberEnv("STORM_VUS", Math.ceil(rate * 10) + 5),
    },
  },
  thresholds: {
    ...joinThresholds(),
    storm_api_duration: [`p(95)<${numberEnv("STORM_API_P95_MS", 500)}`],
    storm_api_failures: [`count<=${numberEnv("STORM_MAX_API_FAILURES", 0)}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

const t = target();

export default function () {
  const room = `${t.prefix}-api-${__VU}-${__ITER}`;
  const identity = `${t.prefix}-api-${__VU}-${__ITER}-p`;
  const admin = { roomCreate: true, roomList: true, roomAdmin: true, room };
  roomService(t, "CreateRoom", { name: room, emptyTimeout: 30 }, admin);
  roomService(t, "ListRooms", {}, admin);
  joinAndHold(t, {
    room,
    identity,
    holdS: 0.5,
    joinTimeoutMs,
    tags: { phase: "api" },
    during: () => {
      roomService(t, "ListParticipants", { room }, admin);
      roomService(t, "UpdateParticipant", { room, identity, metadata: `iteration ${__ITER}` }, admin);
    },
  });
  roomService(t, "DeleteRoom", { room }, admin);
}
