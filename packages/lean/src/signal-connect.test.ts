import {
  ConnectionQuality,
  ConnectionQualityInfo,
  ConnectionQualityUpdate,
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo,
  ParticipantUpdate,
  Pong,
  ReconnectReason,
  ReconnectResponse,
  SessionDescription,
  SignalRequest,
  SignalResponse,
} from "@livekit/protocol";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { LeanError } from "./errors.js";
import { sharedPingClock } from "./ping-clock.js";
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
    subscribedQualities: (update) => seen.push(`qualities:${update.trackSid}`),
    participants: (infos) => seen.push(`update:${infos.map((i) => i.identity).join(",")}`),
    refreshToken: () => seen.push("refreshToken"),
    connectionQuality: (updates) =>
      seen.push(
        `quality:${updates.map((u) => `${u.participantSid}=${ConnectionQuality[u.quality]}`).join(",")}`,
      ),
    leave: (leave) =>
      seen.push(`leave:${DisconnectReason[leave.reason]}/${LeaveRequest_Action[leave.action]}`),
    lost: (cause) => seen.push(`lost:${cause}`),
  };
}

const joinResponse = (pingInterval = 0, pingTimeout = 0): Uint8Array =>
  new SignalResponse({
    message: {
      case: "join",
      value: new JoinResponse({
        participant: new ParticipantInfo({ sid: "PA_x" }),
        pingInterval,
        pingTimeout,
      }),
    },
  }).toBinary();

/** A fake /rtc that answers every upgrade with `greet` and records the query of each. */
async function answering(
  greet: (ws: WebSocket) => void,
): Promise<{ url: string; queries: URLSearchParams[] }> {
  const queries: URLSearchParams[] = [];
  const fake = await fakeServer((server, wss) => {
    server.on("upgrade", (req, socket, head) => {
      queries.push(new URL(req.url ?? "/", "ws://x").searchParams);
      wss.handleUpgrade(req, socket, head, greet);
    });
  });
  closers.push(fake.close);
  return { url: fake.url, queries };
}

const waitUntil = async (condition: () => boolean): Promise<void> => {
  // loopback frames arrive in milliseconds; 3 s covers a ping interval of 1 s twice over
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

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
    const connection = await SignalConnection.connect(
      fake.url,
      "tok",
      { autoSubscribe: true },
      handlers(seen),
    );
    expect(connection.join?.participant?.sid).toBe("PA_x");
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
    const err = await SignalConnection.connect(
      fake.url,
      "secret-token-value",
      { autoSubscribe: true },
      handlers([]),
    ).catch((e: unknown) => e);
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
    const err = await SignalConnection.connect(url, "t", { autoSubscribe: true }, handlers([])).catch(
      (e: unknown) => e,
    );
    expect((err as LeanError).reason).toBe("unreachable");
    expect((err as LeanError).message).toMatch(
      /cannot reach ws:\/\/127\.0\.0\.1:\d+: .*is the server running/,
    );
  });

  it("resumes with reconnect=1, the sid and the reason, opens on a ReconnectResponse and keeps the session's ping cadence", async () => {
    const fake = await answering((ws) => {
      ws.send(
        new SignalResponse({ message: { case: "reconnect", value: new ReconnectResponse() } }).toBinary(),
      );
    });
    const connection = await SignalConnection.connect(
      fake.url,
      "tok",
      {
        autoSubscribe: false,
        resume: { sid: "PA_x", reason: ReconnectReason.RR_SIGNAL_DISCONNECTED },
        ping: { intervalS: 5, timeoutS: 15 },
      },
      handlers([]),
    );
    expect(connection.opening.case).toBe("reconnect");
    expect(connection.join).toBeUndefined();
    expect(connection.ping).toEqual({ intervalS: 5, timeoutS: 15 });
    const query = fake.queries[0];
    expect(query?.get("reconnect")).toBe("1");
    expect(query?.get("sid")).toBe("PA_x");
    expect(query?.get("reconnect_reason")).toBe(String(ReconnectReason.RR_SIGNAL_DISCONNECTED));
    expect(query?.get("access_token")).toBe("tok");
    connection.drop();
  });

  it("rejects a refused resume (a leave instead of the ReconnectResponse) with reason left, naming the action", async () => {
    const fake = await answering((ws) => {
      const leave = new LeaveRequest({
        reason: DisconnectReason.STATE_MISMATCH,
        action: LeaveRequest_Action.RECONNECT,
      });
      ws.send(new SignalResponse({ message: { case: "leave", value: leave } }).toBinary());
    });
    const err = await SignalConnection.connect(
      fake.url,
      "t",
      { autoSubscribe: true, resume: { sid: "PA_gone", reason: ReconnectReason.RR_UNKNOWN } },
      handlers([]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeanError);
    expect((err as LeanError).reason).toBe("left");
    expect((err as LeanError).message).toMatch(/ReconnectResponse.*STATE_MISMATCH, action RECONNECT/);
  });

  it("delivers participant updates, refreshToken, connection quality and the server's leave; the close after a leave is not a loss", async () => {
    const fake = await answering((ws) => {
      ws.send(joinResponse());
      const later = [
        new SignalResponse({
          message: {
            case: "update",
            value: new ParticipantUpdate({
              participants: [
                new ParticipantInfo({ identity: "pub-0" }),
                new ParticipantInfo({ identity: "sub-1" }),
              ],
            }),
          },
        }),
        new SignalResponse({ message: { case: "refreshToken", value: "new-token" } }),
        new SignalResponse({
          message: {
            case: "connectionQuality",
            value: new ConnectionQualityUpdate({
              updates: [
                new ConnectionQualityInfo({ participantSid: "PA_x", quality: ConnectionQuality.EXCELLENT }),
                new ConnectionQualityInfo({ participantSid: "PA_y", quality: ConnectionQuality.POOR }),
              ],
            }),
          },
        }),
        new SignalResponse({
          message: {
            case: "leave",
            value: new LeaveRequest({
              reason: DisconnectReason.ROOM_DELETED,
              action: LeaveRequest_Action.DISCONNECT,
            }),
          },
        }),
      ];
      setTimeout(() => {
        for (const m of later) ws.send(m.toBinary());
        ws.close();
      }, 20);
    });
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    connection.start();
    await waitUntil(() => seen.length >= 4);
    // the close frame follows the leave: give it time to arrive and be (not) reported
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([
      "update:pub-0,sub-1",
      "refreshToken",
      "quality:PA_x=EXCELLENT,PA_y=POOR",
      "leave:ROOM_DELETED/DISCONNECT",
    ]);
  });

  it("reports a socket the server closed as lost (signal-closed), once", async () => {
    const fake = await answering((ws) => {
      ws.send(joinResponse());
      setTimeout(() => {
        ws.terminate();
      }, 20);
    });
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    connection.start();
    await waitUntil(() => seen.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual(["lost:signal-closed"]);
  });

  it("ends a socket silent past pingTimeout as lost (ping-timeout)", async () => {
    // pingInterval 1 s, pingTimeout 1 s, and a server that never answers a ping
    const fake = await answering((ws) => {
      ws.send(joinResponse(1, 1));
    });
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    connection.start();
    await waitUntil(() => seen.length > 0);
    expect(seen).toEqual(["lost:ping-timeout"]);
    // the connection's pings ended with it: nothing of it is left on the process's clock
    expect(sharedPingClock.size).toBe(0);
  });

  it("sends a simulate request the server reads even when the socket is closed right after; refuses one on a closed socket", async () => {
    const read: string[] = [];
    const fake = await answering((ws) => {
      ws.send(joinResponse());
      ws.on("message", (data: Buffer) => {
        const m = SignalRequest.fromBinary(new Uint8Array(data)).message;
        if (m.case === "simulate")
          read.push(`${String(m.value.scenario.case)}=${String(m.value.scenario.value)}`);
      });
    });
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    connection.start();
    await connection.simulate({ case: "disconnectSignalOnResume", value: true });
    // as disconnect-signal-on-resume does: the socket is cut as soon as the request is handed over
    connection.lose("signal-closed");
    await waitUntil(() => read.length > 0);
    expect(read).toEqual(["disconnectSignalOnResume=true"]);
    expect(seen).toEqual(["lost:signal-closed"]);
    await expect(connection.simulate({ case: "nodeFailure", value: true })).rejects.toThrow(
      new LeanError("closed", "the signalling socket is not open"),
    );
  });

  it("probe: answered once the server's pongResp comes back, never on a socket closed before it", async () => {
    const fake = await answering((ws) => {
      ws.send(joinResponse());
      ws.on("message", (data: Buffer) => {
        const m = SignalRequest.fromBinary(new Uint8Array(data)).message;
        if (m.case !== "pingReq") return;
        // the second socket's server closes it instead of answering, as after a simulated close
        if (fakeCloses) ws.terminate();
        else
          ws.send(
            new SignalResponse({
              message: { case: "pongResp", value: new Pong({ lastPingTimestamp: m.value.timestamp }) },
            }).toBinary(),
          );
      });
    });
    let fakeCloses = false;
    const seen: string[] = [];
    const answering1 = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    answering1.start();
    const answered = answering1.probe();
    expect(answered()).toBe(false);
    await waitUntil(answered);
    expect(answered()).toBe(true);
    answering1.drop();

    fakeCloses = true;
    const closing = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    closing.start();
    const never = closing.probe();
    await waitUntil(() => seen.length > 0);
    expect(seen).toEqual(["lost:signal-closed"]);
    expect(never()).toBe(false);
  });

  it("drops a socket without a loss: a reconnect replacing it", async () => {
    const fake = await answering((ws) => {
      ws.send(joinResponse());
    });
    const seen: string[] = [];
    const connection = await SignalConnection.connect(fake.url, "t", { autoSubscribe: true }, handlers(seen));
    connection.drop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([]);
  });
});
