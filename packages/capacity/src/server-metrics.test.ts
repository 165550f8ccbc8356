import { describe, expect, it } from "vitest";
import { ServerMetricsError, parseScrape, scrape, usageBetween } from "./server-metrics.js";

const exposition = (
  cpu: number,
  packetsIn: number,
  bytesOut: number,
) => `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total ${cpu}
process_resident_memory_bytes 1.048576e+08
livekit_packet_total{direction="incoming",transmission="initial",country="",node_id="n",node_type="MEDIA"} ${packetsIn}
livekit_packet_total{direction="incoming",transmission="retransmit",country="",node_id="n",node_type="MEDIA"} 10
livekit_packet_total{direction="outgoing",transmission="initial",country="",node_id="n",node_type="MEDIA"} 4000
livekit_packet_bytes{direction="outgoing",transmission="initial",country="",node_id="n",node_type="MEDIA"} ${bytesOut}
livekit_packet_total_extra 99
`;

describe("server metrics", () => {
  it("sums a metric's series per direction and reads CPU and memory", () => {
    const s = parseScrape(exposition(12.5, 1000, 5e5), 0);
    expect(s).toEqual({
      atMs: 0,
      cpuS: 12.5,
      rssBytes: 104857600,
      packets: { incoming: 1010, outgoing: 4000 },
      bytes: { incoming: 0, outgoing: 5e5 },
    });
  });

  it("turns two scrapes into cores, packets and bits per second", () => {
    const u = usageBetween(
      parseScrape(exposition(10, 1000, 1e6), 0),
      parseScrape(exposition(15, 3000, 2e6), 20_000),
    );
    expect(u.cores).toBeCloseTo(0.25);
    expect(u.rssMiB).toBe(100);
    expect(u.packetsPerS.incoming).toBe(100);
    expect(u.bitsPerS.outgoing).toBe(400_000);
  });

  it("reads CPU as unknown across a restart (the counter went down) and when absent", () => {
    expect(
      usageBetween(parseScrape(exposition(10, 0, 0), 0), parseScrape(exposition(2, 0, 0), 1000)).cores,
    ).toBeUndefined();
    expect(usageBetween(parseScrape("", 0), parseScrape("", 1000)).cores).toBeUndefined();
  });
});

describe("scrape", () => {
  it("turns a timeout, the body's included, into one line naming the cause, not a trace", async () => {
    const { createServer } = await import("node:http");
    // headers at once, the body never
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("# HELP x\n");
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/metrics`;
    try {
      const error = await scrape(url, AbortSignal.timeout(300)).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ServerMetricsError);
      expect((error as Error).message).toBe(
        `cannot read the server's metrics at ${url}: no answer in time - the server, or this machine, was too busy to answer: if other work holds this machine's cores (or a CPU limit holds the generator's), free them and run again`,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
