/**
 * The server's resources over a step, from two scrapes of a livekit-server's own /metrics: CPU
 * (process_cpu_seconds_total delta over wall time), resident memory, RTP packets and bytes by
 * direction (livekit_packet_total, livekit_packet_bytes).
 */
import { metric, KnownError, messageOf } from "@livekit-swarm/schema";

const PACKETS = metric("livekit_packet_total").name;
const BYTES = metric("livekit_packet_bytes").name;
/** The Go client's process collector, which livekit-server registers. */
const CPU = "process_cpu_seconds_total";
const RSS = "process_resident_memory_bytes";

export interface ServerScrape {
  readonly atMs: number;
  readonly cpuS: number | undefined;
  readonly rssBytes: number | undefined;
  readonly packets: { readonly incoming: number; readonly outgoing: number };
  readonly bytes: { readonly incoming: number; readonly outgoing: number };
}

export interface ServerUsage {
  readonly cores: number | undefined;
  readonly rssMiB: number | undefined;
  /** RTP packets per second, in from publishers and out to subscribers. */
  readonly packetsPerS: { readonly incoming: number; readonly outgoing: number };
  /** RTP bits per second, in and out. */
  readonly bitsPerS: { readonly incoming: number; readonly outgoing: number };
}

/** Pure: the samples of one metric in Prometheus text format, summed per value of one label. */
function sumBy(text: string, name: string, label?: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) continue;
    const close = line.lastIndexOf("}");
    const labels = close > 0 ? line.slice(name.length + 1, close) : "";
    const value = Number(
      (close > 0 ? line.slice(close + 1) : line.slice(name.length)).trim().split(/\s+/)[0],
    );
    if (!Number.isFinite(value)) continue;
    const key = label === undefined ? "" : (new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(labels)?.[1] ?? "");
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return sums;
}

/** Pure: one scrape's figures from the exposition text. */
export function parseScrape(text: string, atMs: number): ServerScrape {
  const directions = (name: string) => {
    const by = sumBy(text, name, "direction");
    return { incoming: by.get("incoming") ?? 0, outgoing: by.get("outgoing") ?? 0 };
  };
  return {
    atMs,
    cpuS: sumBy(text, CPU).get(""),
    rssBytes: sumBy(text, RSS).get(""),
    packets: directions(PACKETS),
    bytes: directions(BYTES),
  };
}

/** Pure: the usage between two scrapes; a counter that went down (a restart) reads as undefined CPU, zero traffic. */
export function usageBetween(from: ServerScrape, to: ServerScrape): ServerUsage {
  const seconds = (to.atMs - from.atMs) / 1000;
  const rate = (a: number, b: number): number => (seconds > 0 && b >= a ? (b - a) / seconds : 0);
  return {
    cores:
      from.cpuS !== undefined && to.cpuS !== undefined && to.cpuS >= from.cpuS && seconds > 0
        ? (to.cpuS - from.cpuS) / seconds
        : undefined,
    rssMiB: to.rssBytes !== undefined ? to.rssBytes / 2 ** 20 : undefined,
    packetsPerS: {
      incoming: rate(from.packets.incoming, to.packets.incoming),
      outgoing: rate(from.packets.outgoing, to.packets.outgoing),
    },
    bitsPerS: {
      incoming: 8 * rate(from.bytes.incoming, to.bytes.incoming),
      outgoing: 8 * rate(from.bytes.outgoing, to.bytes.outgoing),
    },
  };
}

export class ServerMetricsError extends KnownError<"server-metrics"> {
  override readonly name = "ServerMetricsError";
  /** `fix`: what to do about it; by default, where the metrics are. */
  constructor(
    readonly url: string,
    detail: string,
    fix = "is livekit-server's prometheus_port set? pass --server-metrics http://NODE:PORT/metrics",
  ) {
    super("server-metrics", `cannot read the server's metrics at ${url}: ${detail} - ${fix}`);
  }
  override toJSON(): { name: string; reason: "server-metrics"; url: string; message: string } {
    return { ...super.toJSON(), url: this.url };
  }
}

/** How long one scrape may take, body included. */
const SCRAPE_TIMEOUT_MS = 10_000;

export async function scrape(url: string, signal?: AbortSignal): Promise<ServerScrape> {
  let text: string;
  try {
    // the body too: the timeout can fire while it is read (measured: a generator held to 2% of a
    // core read its headers, then timed out in the body, and the trace escaped as a bug)
    const response = await fetch(url, { signal: signal ?? AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!response.ok) throw new ServerMetricsError(url, `HTTP ${String(response.status)}`);
    text = await response.text();
  } catch (err) {
    if (err instanceof ServerMetricsError) throw err;
    const timedOut = err instanceof Error && err.name === "TimeoutError";
    if (timedOut)
      throw new ServerMetricsError(
        url,
        signal === undefined ? `no answer within ${String(SCRAPE_TIMEOUT_MS / 1000)} s` : "no answer in time",
        "the server, or this machine, was too busy to answer: if other work holds this machine's cores (or a CPU limit holds the generator's), free them and run again",
      );
    throw new ServerMetricsError(url, messageOf(err));
  }
  return parseScrape(text, Date.now());
}
