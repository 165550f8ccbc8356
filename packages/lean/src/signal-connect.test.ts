import { JoinResponse, ParticipantInfo, SessionDescription, SignalResponse } from "@livekit/protocol";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { LeanError } from "./errors.js";
import { SignalConnection, type SignalHandlers } from "./signal.js";

/** A loopback stand-in for livekit-server's /rtc: `onUpgrade` decides how upgrades are answered. */
async function fakeServer(
  onUpgrade: (server: Server, wss: WebSocketServer) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true });
  onUpgrade(server, wss);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

function handlers(seen: string[]): SignalHandlers {
  return {
    offer: (sdp) => seen.push(`offer:${sdp}`),
    answer: (sdp) => seen.push(`answer:${sdp}`),
    trickle: () => seen.push("trickle"),
    trackPublished: (cid) => seen.push(`published:${cid}`),
    closed: (reason) => seen.push(`closed:${reason}`),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe("SignalConnection.connect", () => {
  it("keeps an offer sent in the same write as the JoinResponse and delivers it on start()", async () => {
    const fake = await fakeServer((server, wss) => {
      server.on("upgrade", (req, socket, head) => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          const join = new SignalResponse({
            message: {
              case: "join",
              value: new JoinResponse({ participant: new ParticipantInfo({ sid: "PA_x" }), pingInterval: 0 }),
            },
          });
          const offer = new SignalResponse({
            message: { case: "offer", value: new SessionDescription({ type: "offer", sdp: "v=0" }) },
          });
          // corked: both frames leave in one TCP write, as livekit-server's often do
          socket.cork();
          ws.send(join.toBinary(), { binary: true });
          ws.send(offer.toBinary(), { binary: true });
          socket.uncork();
        });
      });
    });
    closers.push(fake.close);
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "tok", true, handlers(seen));
    expect(connection.join.participant?.sid).toBe("PA_x");
    // give the second frame every chance to arrive before start()
    await new Promise((resolve) => setTimeout(resolve, 50));
    connection.start();
    expect(seen).toEqual(["offer:v=0"]);
    await connection.leave();
  });

  it("names a refused token without printing it", async () => {
    const fake = await fakeServer((server) => {
      server.on("upgrade", (_req, socket) => {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
      });
    });
    closers.push(fake.close);
    const err = await SignalConnection.connect(fake.url, "secret-token-value", true, handlers([])).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LeanError);
    expect((err as LeanError).reason).toBe("rejected");
    expect((err as LeanError).message).toMatch(/refused the token \(HTTP 401\).*LIVEKIT_API_KEY/);
    expect(JSON.stringify(err)).not.toContain("secret-token-value");
    expect((err as LeanError).message).not.toContain("secret-token-value");
  });

  it("says the server is unreachable when nothing listens", async () => {
    const fake = await fakeServer(() => undefined);
    const url = fake.url;
    await fake.close();
    const err = await SignalConnection.connect(url, "t", true, handlers([])).catch((e: unknown) => e);
    expect((err as LeanError).reason).toBe("unreachable");
    expect((err as LeanError).message).toMatch(
      /cannot reach ws:\/\/127\.0\.0\.1:\d+: .*is the server running/,
    );
  });
});
