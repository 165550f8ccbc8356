import type { StormObservation } from "@livekit-swarm/schema";

/**
 * k6's figures read back: the points of its JSON output (`--out json=FILE`, one JSON document a
 * line) that the storm scripts' own metrics produced, and its end-of-test summary export. No clock,
 * no I/O: the caller reads the files.
 */

/** The k6 metric names the storm scripts (scenarios/k6/lib/livekit.js) define. */
export const K6_STORM_METRICS = {
  joinDuration: "storm_join_duration",
  joins: "storm_joins",
  joinFailures: "storm_join_failures",
  sessionsEnded: "storm_sessions_ended",
  apiDuration: "storm_api_duration",
  apiFailures: "storm_api_failures",
  reconnectDuration: "storm_reconnect_duration",
  reconnectFailures: "storm_reconnect_failures",
} as const;

interface K6Point {
  readonly type: "Point";
  readonly metric: string;
  readonly data: { readonly time: string; readonly value: number; readonly tags?: Record<string, string> };
}

function isPoint(doc: unknown): doc is K6Point {
  if (typeof doc !== "object" || doc === null) return false;
  const d = doc as { type?: unknown; metric?: unknown; data?: { time?: unknown; value?: unknown } };
  return (
    d.type === "Point" &&
    typeof d.metric === "string" &&
    typeof d.data?.time === "string" &&
    typeof d.data.value === "number"
  );
}

/**
 * One storm observation per point of a storm metric; `storm_joins` points are left out, since
 * every one comes with its `storm_join_duration` point. Lines that are not JSON (a file cut
 * short by a killed k6) are skipped and counted.
 */
export function stormObservations(jsonLines: string): {
  observations: StormObservation[];
  unreadable: number;
} {
  const observations: StormObservation[] = [];
  let unreadable = 0;
  for (const line of jsonLines.split("\n")) {
    if (line.trim() === "") continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      unreadable += 1;
      continue;
    }
    if (!isPoint(doc)) continue;
    const t = Date.parse(doc.data.time);
    const tags = doc.data.tags ?? {};
    const method = tags.method ?? "unknown";
    const reason = tags.reason ?? "unknown";
    // k6 keeps times in milliseconds
    const durationS = doc.data.value / 1000;
    switch (doc.metric) {
      case K6_STORM_METRICS.joinDuration:
        observations.push({ type: "join", t, durationS });
        break;
      case K6_STORM_METRICS.joinFailures:
        for (let i = 0; i < doc.data.value; i++) observations.push({ type: "join-failed", t, reason });
        break;
      case K6_STORM_METRICS.sessionsEnded:
        for (let i = 0; i < doc.data.value; i++) observations.push({ type: "session-ended", t });
        break;
      case K6_STORM_METRICS.reconnectDuration:
        observations.push({ type: "reconnect", t, state: tags.answer ?? "unknown", durationS });
        break;
      case K6_STORM_METRICS.reconnectFailures:
        for (let i = 0; i < doc.data.value; i++) observations.push({ type: "reconnect-failed", t, reason });
        break;
      case K6_STORM_METRICS.apiDuration:
        observations.push({ type: "api", t, method, durationS });
        break;
      case K6_STORM_METRICS.apiFailures:
        for (let i = 0; i < doc.data.value; i++) observations.push({ type: "api-failed", t, method, reason });
        break;
    }
  }
  return { observations, unreadable };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** One k6 threshold as its summary export states it. */
export interface K6Threshold {
  readonly metric: string;
  readonly expression: string;
  readonly passed: boolean;
}

/** What the storm keeps of k6's summary export: each metric's figures, and its thresholds. */
export interface K6Summary {
  readonly metrics: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly thresholds: readonly K6Threshold[];
}

/**
 * k6's `--summary-export` document. Each metric is a record of figures (count, rate, avg, p(95),
 * ...) and, when it has thresholds, `thresholds: {expression: failed}`: true means the threshold
 * was crossed (k6's legacy export format).
 */
export function parseK6Summary(doc: unknown): K6Summary {
  const metrics: Record<string, Record<string, number>> = {};
  const thresholds: K6Threshold[] = [];
  const all = isRecord(doc) ? doc.metrics : undefined;
  if (!isRecord(all)) return { metrics, thresholds };
  for (const [name, body] of Object.entries(all)) {
    if (!isRecord(body)) continue;
    const figures: Record<string, number> = {};
    for (const [key, value] of Object.entries(body)) {
      // JSON's 1e999 parses to Infinity: a figure that is no number is left out
      if (typeof value === "number" && Number.isFinite(value)) figures[key] = value;
      else if (key === "thresholds" && isRecord(value))
        for (const [expression, crossed] of Object.entries(value))
          thresholds.push({ metric: name, expression, passed: crossed !== true });
    }
    metrics[name] = figures;
  }
  return { metrics, thresholds };
}
