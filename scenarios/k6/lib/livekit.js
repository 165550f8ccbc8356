// LiveKit signalling for k6, without extensions: tokens minted in k6 (HS256), a WebSocket join to
// /rtc timed to its JoinResponse, a held signal-only session, leave; and RoomService over Twirp JSON.
//
// What this relies on in livekit-server (v1.13.5, pkg/service/wsprotocol.go; docs/signalling-storm.md):
// the server answers in protobuf (binary frames) until the client sends a text frame, then in JSON.
// The JoinResponse is the first frame after the upgrade, binary: SignalResponse field 1 (`join`),
// so its first byte is the tag 0x0a and nothing needs decoding to time it. Everything sent after
// that is JSON (protojson field names: {"ping": "<ms>"}, {"leave": {...}}).
import crypto from "k6/crypto";
import encoding from "k6/encoding";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import ws from "k6/ws";

export const joinDuration = new Trend("storm_join_duration", true);
export const joins = new Counter("storm_joins");
export const joinFailures = new Counter("storm_join_failures");
/** A joined session's socket closed (left, dropped or closed by the server): open = joins - this. */
export const sessionsEnded = new Counter("storm_sessions_ended");
export const apiDuration = new Trend("storm_api_duration", true);
export const apiFailures = new Counter("storm_api_failures");
export const reconnectDuration = new Trend("storm_reconnect_duration", true);
export const reconnectFailures = new Counter("storm_reconnect_failures");

/** k6 summary statistics, p99 included (the default set stops at p95). */
export const SUMMARY_TREND_STATS = ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)", "count"];

/** LiveKit drops a participant still not ACTIVE (no PeerConnection up) one minute after it joined. */
export const SIGNAL_ONLY_LIMIT_S = 60;
/** The client pings every 5 s: LiveKit's JoinResponse asks for ping_interval 5, ping_timeout 15. */
const PING_INTERVAL_MS = 5000;
const JOIN_RESPONSE_TAG = 0x0a;
/** SignalResponse field 19, `reconnect` (a ReconnectResponse), length-delimited: varint 0x9a 0x01. */
const RECONNECT_RESPONSE_TAG = 0x9a;
/** SignalResponse field 8, `leave`: the server ends the session instead of answering. */
const LEAVE_TAG = 0x42;

function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === "" ? fallback : v;
}

export function numberEnv(name, fallback) {
  const v = Number(env(name, fallback));
  if (!Number.isFinite(v)) throw new Error(`${name}: expected a number, got ${__ENV[name]}`);
  return v;
}

/** Where and as whom: LIVEKIT_URL (ws:// or wss://), LIVEKIT_API_KEY, LIVEKIT_API_SECRET from the environment. */
export function target() {
  const url = env("LIVEKIT_URL", "ws://127.0.0.1:7880").replace(/\/+$/, "");
  const key = env("LIVEKIT_API_KEY", "");
  const secret = env("LIVEKIT_API_SECRET", "");
  if (key === "" || secret === "")
    throw new Error("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set in the environment");
  return {
    wsUrl: url.replace(/^http/, "ws"),
    httpUrl: url.replace(/^ws/, "http"),
    key,
    secret,
    /** Room and identity names start with it, so one run's rooms are told from another's. */
    prefix: env("STORM_PREFIX", "storm"),
  };
}

function b64url(value) {
  return encoding.b64encode(JSON.stringify(value), "rawurl");
}

/** An HS256 access token with `grants` as its video grant, valid for `ttlS` seconds. */
export function token(t, identity, grants, ttlS = 600) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url({ alg: "HS256", typ: "JWT" });
  const payload = b64url({
    iss: t.key,
    sub: identity,
    name: identity,
    nbf: now - 10,
    exp: now + ttlS,
    video: grants,
  });
  const signature = crypto.hmac("sha256", t.secret, `${header}.${payload}`, "base64rawurl");
  return `${header}.${payload}.${signature}`;
}

/** Why a WebSocket join failed, from k6's error text: a small fixed set, for a label. */
export function connectFailureReason(message) {
  const m = String(message);
  if (/bad handshake|401|403|unauthori/i.test(m)) return "rejected";
  if (/refused/i.test(m)) return "refused";
  if (/timeout|deadline/i.test(m)) return "timeout";
  if (/reset|EOF|broken pipe|closed/i.test(m)) return "closed";
  return "connect";
}

/**
 * The session settings join-storm and churn share: holds (STORM_HOLD_MIN_S/STORM_HOLD_MAX_S, under
 * the minute after which LiveKit drops a signal-only participant), STORM_JOIN_TIMEOUT_MS, STORM_ROOMS.
 */
export function sessionSettings(defaults) {
  const holdMin = numberEnv("STORM_HOLD_MIN_S", defaults.holdMin);
  const holdMax = numberEnv("STORM_HOLD_MAX_S", defaults.holdMax);
  if (holdMax >= SIGNAL_ONLY_LIMIT_S)
    throw new Error(
      `STORM_HOLD_MAX_S must stay under ${SIGNAL_ONLY_LIMIT_S}: LiveKit drops signal-only participants after that`,
    );
  return {
    holdMin,
    holdMax,
    joinTimeoutMs: numberEnv("STORM_JOIN_TIMEOUT_MS", 10000),
    rooms: numberEnv("STORM_ROOMS", defaults.rooms),
  };
}

/** A hold drawn uniformly in [min, max] seconds. */
export function drawHoldS(minS, maxS) {
  return minS + Math.random() * Math.max(0, maxS - minS);
}

/**
 * Joins `room` as `identity` over /rtc, records the time to the JoinResponse (or the failure's
 * reason), holds the signal-only session for `holdS` seconds (pinging), then leaves. `during` runs
 * once after the JoinResponse, given its frame (e.g. RoomService calls about this participant).
 * `leave: false` drops the socket without a leave, as a client losing its network. Returns whether
 * it joined.
 */
export function joinAndHold(t, { room, identity, holdS, joinTimeoutMs, tags, during, leave = true }) {
  const jwt = token(t, identity, { roomJoin: true, room, canPublish: true, canSubscribe: true });
  const url = `${t.wsUrl}/rtc?access_token=${jwt}&protocol=16&auto_subscribe=0&sdk=js&version=2.0.0`;
  let joined = false;
  let failure;
  const started = Date.now();
  try {
    ws.connect(url, { tags: { ...tags, name: "rtc" } }, (socket) => {
      socket.setTimeout(() => {
        if (!joined) {
          failure = "timeout";
          socket.close();
        }
      }, joinTimeoutMs);
      socket.on("binaryMessage", (frame) => {
        if (joined || failure !== undefined) return;
        const tag = new Uint8Array(frame)[0];
        if (tag !== JOIN_RESPONSE_TAG) {
          failure = tag === LEAVE_TAG ? "leave" : "refused_by_server";
          socket.close();
          return;
        }
        joined = true;
        joinDuration.add(Date.now() - started, tags);
        joins.add(1, tags);
        if (during !== undefined) during(frame);
        socket.setInterval(() => socket.send(JSON.stringify({ ping: String(Date.now()) })), PING_INTERVAL_MS);
        socket.setTimeout(() => {
          if (leave) socket.send(JSON.stringify({ leave: { reason: "CLIENT_INITIATED" } }));
          socket.close();
        }, holdS * 1000);
      });
      socket.on("close", () => {
        if (joined) sessionsEnded.add(1, tags);
        else if (failure === undefined) failure = "closed";
      });
      socket.on("error", (e) => {
        if (!joined && failure === undefined) failure = connectFailureReason(e.error());
      });
    });
  } catch (err) {
    if (failure === undefined) failure = connectFailureReason(err);
  }
  if (!joined) joinFailures.add(1, { ...tags, reason: failure ?? "closed" });
  return joined;
}

function varint(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
    shift += 7;
  }
}

/** The length-delimited field `field` of a protobuf message, as bytes; undefined if absent. */
function lengthDelimited(bytes, field) {
  let at = 0;
  while (at < bytes.length) {
    const [key, next] = varint(bytes, at);
    at = next;
    const wire = key & 7;
    if (wire === 2) {
      const [len, start] = varint(bytes, at);
      if (key >>> 3 === field) return bytes.subarray(start, start + len);
      at = start + len;
    } else if (wire === 0) at = varint(bytes, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return undefined;
  }
  return undefined;
}

/** The participant sid in a JoinResponse frame: SignalResponse.join(1).participant(2).sid(1). */
export function participantSid(frame) {
  const join = lengthDelimited(new Uint8Array(frame), 1);
  const participant = join && lengthDelimited(join, 2);
  const sid = participant && lengthDelimited(participant, 1);
  return sid && String.fromCharCode(...sid);
}

/**
 * Joins, drops the WebSocket without a leave after `holdS` (a client that lost its network), and
 * comes back at once asking to resume (`reconnect=1&sid=`). Records the join as joinAndHold does,
 * and the resume's time to the server's first answer as `storm_reconnect_duration`, tagged with
 * what the server answered: `resumed` (a ReconnectResponse), `rejoined` (a full JoinResponse) or
 * `leave`. A participant that never connected a PeerConnection is closed as soon as its WebSocket
 * closes, so for the storm's signal-only participants LiveKit mostly answers `leave`
 * (docs/signalling-storm.md): the resume path still runs and answers, which is what is timed.
 */
export function joinDropAndResume(t, { room, identity, holdS, joinTimeoutMs, tags }) {
  let sid;
  const joined = joinAndHold(t, {
    room,
    identity,
    holdS,
    joinTimeoutMs,
    tags,
    leave: false,
    during: (frame) => {
      sid = participantSid(frame);
    },
  });
  if (!joined || sid === undefined) return;
  const jwt = token(t, identity, { roomJoin: true, room, canPublish: true, canSubscribe: true });
  const base = `${t.wsUrl}/rtc?access_token=${jwt}&protocol=16&auto_subscribe=0&sdk=js&version=2.0.0`;
  const started = Date.now();
  let answer;
  let failure;
  try {
    ws.connect(`${base}&reconnect=1&sid=${sid}`, { tags: { ...tags, name: "rtc resume" } }, (socket) => {
      socket.setTimeout(() => {
        if (answer === undefined) failure = "timeout";
        socket.close();
      }, joinTimeoutMs);
      socket.on("binaryMessage", (frame) => {
        if (answer !== undefined) return;
        const tag = new Uint8Array(frame)[0];
        answer = {
          [RECONNECT_RESPONSE_TAG]: "resumed",
          [JOIN_RESPONSE_TAG]: "rejoined",
          [LEAVE_TAG]: "leave",
        }[tag];
        if (answer === undefined) failure = "refused_by_server";
        else reconnectDuration.add(Date.now() - started, { ...tags, answer });
        socket.send(JSON.stringify({ leave: { reason: "CLIENT_INITIATED" } }));
        socket.close();
      });
      socket.on("error", (e) => {
        if (answer === undefined && failure === undefined) failure = connectFailureReason(e.error());
      });
    });
  } catch (err) {
    if (failure === undefined) failure = connectFailureReason(err);
  }
  if (answer === undefined) reconnectFailures.add(1, { ...tags, reason: failure ?? "closed" });
}

/** One RoomService call through Twirp JSON, timed and its failure counted by method and reason. */
export function roomService(t, method, body, grants) {
  const jwt = token(t, `${t.prefix}-api`, grants, 120);
  const tags = { method };
  const res = http.post(`${t.httpUrl}/twirp/livekit.RoomService/${method}`, JSON.stringify(body), {
    headers: { Authorization: `Bearer ${jwt}`, "Content-Type": "application/json" },
    tags: { ...tags, name: `twirp ${method}` },
  });
  if (res.status === 200) {
    apiDuration.add(res.timings.duration, tags);
    return res.json();
  }
  apiFailures.add(1, { ...tags, reason: res.status === 0 ? "connect" : `http_${res.status}` });
  return undefined;
}

/** k6 thresholds on the join figures, limits from the environment (milliseconds, a count). */
export function joinThresholds() {
  return {
    storm_join_duration: [
      `p(95)<${numberEnv("STORM_JOIN_P95_MS", 1000)}`,
      `p(99)<${numberEnv("STORM_JOIN_P99_MS", 2000)}`,
    ],
    storm_join_failures: [`count<=${numberEnv("STORM_MAX_FAILURES", 0)}`],
  };
}
