/** A scenario's defaults and its keys in a line each (`--help`, the README): data beside the schema. */

export const scenarioDefaults = {
  rooms: 1,
  videoPublishers: 1,
  audioPublishers: 1,
  subscribers: 1,
  publishersSubscribe: false,
  duration: 30_000,
  numPerSecond: 5,
  video: { resolution: "360p", codec: "vp8", simulcast: true },
  roomPrefix: "lkswarm-room-",
  identityPrefix: "lkswarm-",
  dataInterval: 1000,
  latencyProbes: 1,
  browserProbes: 0,
  participantsPerPage: 1,
  pagesPerBrowser: 1,
  warmup: 0,
  name: "swarm",
  engine: "native",
  // livekit-client's DECRYPTION_FAILURE_TOLERANCE and rtc-node's ratchet window
  e2ee: { wrongKeySubscribers: 0, failureTolerance: 10, ratchetWindowSize: 16 },
} as const satisfies Record<string, unknown>;

/** One line per key for `--help` and the README; tests keep it in step with the schema. */
export const scenarioFields: readonly {
  readonly key: string;
  readonly summary: string;
  readonly default: string;
}[] = [
  { key: "name", summary: "Run name, the `scenario` metric label", default: "file name, else swarm" },
  {
    key: "engine",
    summary:
      "native (rtc-node, encodes and decodes), lean (pre-encoded audio and video, counts RTP without decoding), mixed (lean, with the latency probes on native) or browser (livekit-client in headless Chromium, a browser per participant unless participants-per-page or pages-per-browser)",
    default: "native",
  },
  { key: "rooms", summary: "Rooms to create", default: "1" },
  { key: "video-publishers", summary: "Participants per room that publish video", default: "1" },
  {
    key: "audio-publishers",
    summary: "Participants per room that publish audio (shared with video publishers)",
    default: "1",
  },
  { key: "subscribers", summary: "Participants per room that only subscribe", default: "1" },
  {
    key: "publishers-subscribe",
    summary: "Publishers also receive each other (a conference)",
    default: "false",
  },
  {
    key: "duration",
    summary: "Hold after the last join: 30s, 5m, 1h30m or seconds, at most 168h",
    default: "30s",
  },
  { key: "num-per-second", summary: "Joins per second across the run", default: "5" },
  { key: "video.resolution", summary: "180p, 360p, 540p, 720p, 1080p or WIDTHxHEIGHT", default: "360p" },
  { key: "video.codec", summary: "vp8, h264, vp9 or av1", default: "vp8" },
  { key: "video.simulcast", summary: "Publish simulcast layers", default: "true" },
  { key: "video.fps", summary: "Frames per second, 1 to 60", default: "20 up to 360p, 25 at 540p, else 30" },
  { key: "audio.talk", summary: "Talk period, with audio.silence", default: "talk throughout" },
  { key: "audio.silence", summary: "Silence period, with audio.talk", default: "none" },
  { key: "subscribe-limit", summary: "Most publishers one subscriber subscribes to", default: "all" },
  { key: "room-prefix", summary: "Room names are this plus the room index", default: "lkswarm-room-" },
  { key: "identity-prefix", summary: "Participant identities start with this", default: "lkswarm-" },
  { key: "data", summary: "Publishers send data packets: true, or { interval }", default: "false" },
  { key: "data.interval", summary: "Time between data packets", default: "1s" },
  { key: "latency-probes", summary: "Subscribers per room that measure end-to-end latency", default: "1" },
  {
    key: "browser-probes",
    summary:
      "Subscribers per room on the browser engine (headless Chromium) beside the bulk, the room's last",
    default: "0",
  },
  {
    key: "participants-per-page",
    summary:
      "Browser participants per page, each its own livekit-client Room in one renderer (docs/browser-engine.md), 1 to 50",
    default: "1",
  },
  {
    key: "pages-per-browser",
    summary: "Pages (tabs) per headless Chromium, each with participants-per-page participants, 1 to 50",
    default: "1",
  },
  { key: "thresholds", summary: "Gate expressions, in addition to the catalog's", default: "[]" },
  { key: "warmup", summary: "Start of the run left out of windowed thresholds", default: "0s" },
  {
    key: "storm",
    summary: "A k6 signalling storm during the hold (docs/signalling-storm.md)",
    default: "none",
  },
  {
    key: "storm.script",
    summary: "join-storm, churn, reconnect, room-service or a path to a k6 script",
    default: "join-storm",
  },
  { key: "storm.start", summary: "When the storm starts, after the last media join", default: "0s" },
  { key: "storm.rate", summary: "Storm arrivals per second (STORM_RATE)", default: "the script's" },
  {
    key: "storm.duration",
    summary: "How long storm arrivals go on; must end within the hold",
    default: "10s",
  },
  {
    key: "storm.settings",
    summary: "Other settings for the script, e.g. { STORM_HOLD_MAX_S: 5 }",
    default: "{}",
  },
  {
    key: "e2ee",
    summary: "End-to-end encrypted media with a shared key (native engine): true, or a mapping",
    default: "false",
  },
  {
    key: "e2ee.wrong-key-subscribers",
    summary: "Subscribers per room that join with a wrong key (never a latency probe)",
    default: "0",
  },
  {
    key: "e2ee.failure-tolerance",
    summary: "Failed decryptions before a key is given up and reported, -1 never",
    default: "10",
  },
  { key: "e2ee.ratchet-window-size", summary: "Ratchet steps a receiver tries, 0 to 256", default: "16" },
  {
    key: "e2ee.ratchet-every",
    summary:
      "Every publisher ratchets its key this often (1s or more) after the ramp, on the run's clock, none in the hold's last 5s; receivers follow",
    default: "never",
  },
  {
    key: "network-profiles",
    summary:
      "Share of participants per client network profile, e.g. { open: 80%, udp-blocked: 20% }; local testbed only, as root (docs/transport.md)",
    default: "all open",
  },
];
