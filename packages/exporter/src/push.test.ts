import { createServer, type IncomingMessage, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { ExporterError } from "./errors.js";
import { exporterWithAJoin } from "../test/exporter-fixture.js";
import { SwarmExporter } from "./exporter.js";

interface Received {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly body: string;
}

/** A stand-in Pushgateway on loopback that records each request and answers with `status`. */
class FakeGateway {
  readonly received: Received[] = [];
  private readonly server: Server = createServer((req, res) => {
    void this.record(req).then(() => {
      res.writeHead(this.status).end(this.status === 200 ? "" : "gateway says no");
    });
  });

  constructor(private readonly status: number) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => {
      this.server.listen(0, "127.0.0.1", resolve);
    });
    const address = this.server.address();
    if (typeof address !== "object" || address === null) throw new Error("gateway has no port");
    return `http://127.0.0.1:${address.port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private async record(req: IncomingMessage): Promise<void> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    this.received.push({ method: req.method, path: req.url, body });
  }
}

async function failureOf(promise: Promise<unknown>): Promise<ExporterError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ExporterError)) throw new Error(`expected an ExporterError, got ${String(err)}`);
  return err;
}

describe("push", () => {
  let gateway: FakeGateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  async function startGateway(status = 200): Promise<{ gateway: FakeGateway; url: string }> {
    gateway = new FakeGateway(status);
    return { gateway, url: await gateway.start() };
  }

  it("POSTs the exposition to /metrics/job/<job>/run_id/<run id>", async () => {
    const { gateway, url } = await startGateway();
    const exporter = exporterWithAJoin();
    await exporter.push(url, "ci-smoke");
    expect(gateway.received).toHaveLength(1);
    const [request] = gateway.received;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/metrics/job/ci-smoke/run_id/run-42");
    expect(request?.body).toContain("# TYPE lkswarm_participants gauge");
    expect(request?.body).toContain("lkswarm_join_duration_seconds_bucket{");
    expect(request?.body).toBe(await exporter.metrics());
  });

  it("uses job lkswarm unless told otherwise", async () => {
    const { gateway, url } = await startGateway();
    await exporterWithAJoin().push(url);
    expect(gateway.received.map((r) => r.path)).toEqual(["/metrics/job/lkswarm/run_id/run-42"]);
  });

  it("pushes each shard of a sharded run to its own group, labelled with its shard", async () => {
    const { gateway, url } = await startGateway();
    const exporter = new SwarmExporter({ scenario: "smoke", runId: "run-42", shard: 2 });
    exporter.onEvent(
      { t: 1000, room: "room-a", participant: "sub-1", role: "subscriber", worker: 0 },
      { type: "joined", joinS: 0.3 },
    );
    await exporter.push(url);
    expect(gateway.received.map((r) => r.path)).toEqual(["/metrics/job/lkswarm/run_id/run-42/shard/2"]);
    expect(gateway.received[0]?.body).toContain('run_id="run-42",shard="2",worker="0"');
  });

  it("rejects with the gateway's answer, and never echoes credentials", async () => {
    const { url } = await startGateway(500);
    const withPassword = url.replace("http://", "http://ci:s3cret@");
    const err = await failureOf(exporterWithAJoin().push(withPassword));
    expect(err.reason).toBe("push-failed");
    expect(err.message).toMatch(
      /^cannot push metrics to http:\/\/127\.0\.0\.1:\d+: push failed with status 500/,
    );
    expect(err.message).not.toContain("s3cret");
    expect(JSON.stringify(err)).not.toContain("s3cret");
  });

  it("says so when nothing listens at the address", async () => {
    const { gateway, url } = await startGateway();
    await gateway.stop();
    const err = await failureOf(exporterWithAJoin().push(url));
    expect(err.message).toMatch(/ECONNREFUSED.*is the Pushgateway running/);
  });

  it("refuses an address that is not an http URL before sending anything", async () => {
    const { gateway, url } = await startGateway();
    expect((await failureOf(exporterWithAJoin().push("127.0.0.1:9091"))).message).toMatch(/not a URL/);
    expect((await failureOf(exporterWithAJoin().push("localhost:9091"))).message).toMatch(
      /"localhost:" is not http or https/,
    );
    expect((await failureOf(exporterWithAJoin().push(url, " "))).message).toMatch(/job name is empty/);
    expect(gateway.received).toEqual([]);
  });
});
