import {
  AddTrackRequest,
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  Ping,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  TrackInfo,
  TrickleRequest,
} from "@livekit/protocol";
import WebSocket from "ws";
import { LeanError } from "./errors.js";

/**
 * The classic two-PeerConnection signalling path (`/rtc`, protocol 16): `/rtc/v1` with a
 * join_request switches the server to one PeerConnection, and protocol 17 adds a packet trailer
 * this engine does not strip.
 */
const PROTOCOL = 16;
const SDK_VERSION = "2.9.0";

export interface SignalHandlers {
  offer(sdp: string): void;
  answer(sdp: string): void;
  trickle(target: SignalTarget, candidate: CandidateInit): void;
  trackPublished(cid: string, track: TrackInfo | undefined): void;
  /** The server ended the session, or the socket closed without our leave. */
  closed(reason: string): void;
}

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | undefined;
  sdpMLineIndex?: number | undefined;
  usernameFragment?: string | undefined;
}

/** The signalling URL for a join; the token travels as `access_token`, never in a message. */
export function joinUrl(url: string, token: string, autoSubscribe: boolean): string {
  const base = new URL(url);
  if (base.protocol === "http:") base.protocol = "ws:";
  if (base.protocol === "https:") base.protocol = "wss:";
  base.pathname = `${base.pathname.replace(/\/+$/, "")}/rtc`;
  base.search = new URLSearchParams({
    access_token: token,
    auto_subscribe: autoSubscribe ? "1" : "0",
    sdk: "js",
    version: SDK_VERSION,
    protocol: String(PROTOCOL),
    adaptive_stream: "0",
  }).toString();
  return base.toString();
}

type Request = SignalRequest["message"];
type RequestCase = Exclude<Request["case"], undefined>;

/**
 * One SignalRequest variant, typed by its case. Writing `{ case, value }` against the whole union
 * makes lint see `value` as deprecated, since one variant (updateLayers) is.
 */
function request<C extends RequestCase>(kind: C, value: Extract<Request, { case: C }>["value"]): Request {
  const message = { case: kind, value };
  return message as Request;
}

/** The URL without its query, for messages: the query holds the token. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** One participant's signalling WebSocket: binary SignalRequest out, SignalResponse in. */
export class SignalConnection {
  private pingTimer: NodeJS.Timeout | undefined;
  private leaving = false;
  /** Messages that arrived between the upgrade and the JoinResponse, held until `start`. */
  private early: SignalResponse[] = [];
  private lastMessageMs = Date.now();

  private constructor(
    private readonly ws: WebSocket,
    readonly join: JoinResponse,
    private readonly handlers: SignalHandlers,
  ) {
    ws.on("message", (data: Buffer) => {
      this.lastMessageMs = Date.now();
      this.dispatch(SignalResponse.fromBinary(data));
    });
    ws.on("close", (code, reason) => {
      this.stopPing();
      if (!this.leaving)
        handlers.closed(`signalling closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})`);
    });
    ws.on("error", () => {
      // a close event follows
    });
    if (join.pingInterval > 0) {
      this.pingTimer = setInterval(() => {
        // a server that answered nothing, not even pongResp, for pingTimeout is gone: end the
        // socket as a client SDK would, so the close handler reports it
        if (join.pingTimeout > 0 && Date.now() - this.lastMessageMs > join.pingTimeout * 1000) {
          this.ws.terminate();
          return;
        }
        // pingReq, not the deprecated int64 ping; the server answers pongResp
        this.send(request("pingReq", new Ping({ timestamp: BigInt(Date.now()) })));
      }, join.pingInterval * 1000);
    }
  }

  /** Opens the socket and waits for the JoinResponse. Messages before it are replayed after. */
  static async connect(
    url: string,
    token: string,
    autoSubscribe: boolean,
    handlers: SignalHandlers,
    timeoutMs = 10_000,
  ): Promise<SignalConnection> {
    const target = joinUrl(url, token, autoSubscribe);
    const ws = new WebSocket(target, { perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    const early: SignalResponse[] = [];
    const join = await new Promise<JoinResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(
          new LeanError(
            "timeout",
            `no JoinResponse from ${shown(url)} within ${timeoutMs} ms - is the server overloaded?`,
          ),
        );
      }, timeoutMs);
      const fail = (err: LeanError): void => {
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.on("error", () => undefined);
        ws.terminate();
        reject(err);
      };
      ws.on("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        fail(
          new LeanError(
            status === 401 || status === 403 ? "rejected" : "unreachable",
            status === 401 || status === 403
              ? `${shown(url)} refused the token (HTTP ${status}) - check LIVEKIT_API_KEY and LIVEKIT_API_SECRET`
              : `${shown(url)} answered HTTP ${status} to the signalling upgrade - is this a LiveKit server?`,
          ),
        );
      });
      ws.on("error", (err) => {
        fail(
          new LeanError(
            "unreachable",
            `cannot reach ${shown(url)}: ${err.message} - is the server running? pass --url`,
          ),
        );
      });
      ws.on("close", (code) => {
        fail(new LeanError("closed", `${shown(url)} closed the signalling socket (${code}) before joining`));
      });
      let joined = false;
      ws.on("message", (data: Buffer) => {
        const response = SignalResponse.fromBinary(data);
        // ws emits every message of one TCP read synchronously: the offer often follows the
        // JoinResponse in the same read, before this promise's continuation runs, so keep
        // collecting until the connection object takes the socket over
        if (joined) {
          early.push(response);
        } else if (response.message.case === "join") {
          joined = true;
          clearTimeout(timer);
          resolve(response.message.value);
        } else if (response.message.case === "leave") {
          fail(
            new LeanError(
              "left",
              `${shown(url)} sent leave before join (reason ${DisconnectReason[response.message.value.reason]})`,
            ),
          );
        } else {
          early.push(response);
        }
      });
    });
    ws.removeAllListeners();
    const connection = new SignalConnection(ws, join, handlers);
    connection.early = early;
    return connection;
  }

  /** Delivers what arrived with the JoinResponse; call once the handlers' owner is ready. */
  start(): void {
    const early = this.early;
    this.early = [];
    for (const response of early) this.dispatch(response);
  }

  private dispatch(response: SignalResponse): void {
    const m = response.message;
    switch (m.case) {
      case "offer":
        this.handlers.offer(m.value.sdp);
        break;
      case "answer":
        this.handlers.answer(m.value.sdp);
        break;
      case "trickle":
        this.handlers.trickle(m.value.target, JSON.parse(m.value.candidateInit) as CandidateInit);
        break;
      case "trackPublished":
        this.handlers.trackPublished(m.value.cid, m.value.track);
        break;
      case "leave":
        this.leaving = true;
        this.handlers.closed(`server sent leave (reason ${DisconnectReason[m.value.reason]})`);
        break;
      default:
        // update, roomUpdate, refreshToken, connectionQuality, pong ...: not needed to move media
        break;
    }
  }

  private send(message: Request): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(new SignalRequest({ message }).toBinary());
  }

  sendOffer(sdp: string): void {
    this.send(request("offer", new SessionDescription({ type: "offer", sdp })));
  }

  sendAnswer(sdp: string): void {
    this.send(request("answer", new SessionDescription({ type: "answer", sdp })));
  }

  sendTrickle(target: SignalTarget, candidate: CandidateInit): void {
    this.send(request("trickle", new TrickleRequest({ candidateInit: JSON.stringify(candidate), target })));
  }

  addTrack(track: AddTrackRequest): void {
    this.send(request("addTrack", track));
  }

  /** Sends leave and closes; the server then ends the session without waiting for a timeout. */
  async leave(): Promise<void> {
    this.leaving = true;
    this.stopPing();
    if (this.ws.readyState === WebSocket.OPEN) {
      this.send(request("leave", new LeaveRequest({ reason: DisconnectReason.CLIENT_INITIATED })));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.ws.terminate();
          resolve();
        }, 2000);
        this.ws.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        this.ws.close(1000);
      });
    }
  }

  private stopPing(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}
