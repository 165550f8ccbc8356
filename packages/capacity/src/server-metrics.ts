/**
 * The server's resources over a step, from two scrapes of a livekit-server's own /metrics: CPU
 * (process_cpu_seconds_total delta over wall time), resident memory, RTP packets and bytes by
 * direction (livekit_packet_total, livekit_packet_bytes).
 */
import { metric, KnownError } from "@livekit-swarm/schema";

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
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(
      "server-metrics",
      `cannot read the server's metrics at ${url}: ${detail} - is livekit-server's prometheus_port set? pass --server-metrics http://NODE:PORT/metrics`,
    );
  }
  override toJSON(): { name: string; reason: "server-metrics"; url: string; message: string } {
    return { ...super.toJSON(), url: this.url };
  }
}

export async function scrape(url: string, signal?: AbortSignal): Promise<ServerScrape> {
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new ServerMetricsError(url, err instanceof Error ? err.message : String(err));
  }
  if (!response.ok) throw new ServerMetricsError(url, `HTTP ${String(response.status)}`);
  return parseScrape(await response.text(), Date.now());
}
