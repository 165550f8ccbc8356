import {
  AddTrackRequest,
  ConnectionQuality,
  type ConnectionQualityInfo,
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo,
  ReconnectReason,
  ReconnectResponse,
  SessionDescription,
  SignalRequest,
  SignalResponse,
  SignalTarget,
  SimulateScenario,
  SubscribedQualityUpdate,
  SyncState,
  TrackInfo,
  TrickleRequest,
  type UpdateTrackSettings,
} from "@livekit/protocol";
import WebSocket from "ws";
import { LeanError } from "./errors.js";
import { sharedPingClock } from "./ping-clock.js";

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
  /** A ParticipantUpdate: who joined, published or left the room. */
  participants(infos: readonly ParticipantInfo[]): void;
  /** A new token to use on the next reconnect: the server refreshes it before the old one expires. */
  refreshToken(token: string): void;
  /**
   * A ConnectionQualityUpdate: LiveKit's quality of the room's participants (this one among them),
   * sent when one of them joins or changes quality.
   */
  connectionQuality(updates: readonly ConnectionQualityInfo[]): void;
  /** Dynacast: which qualities of one of our tracks anyone receives (SubscribedQualityUpdate). */
  subscribedQualities(update: SubscribedQualityUpdate): void;
  /** The server ended this session: its action says whether to resume, rejoin or stay away. */
  leave(request: LeaveRequest): void;
  /** The socket closed, or went silent past the JoinResponse's pingTimeout, without anyone's leave. */
  lost(cause: SignalLoss): void;
}

export type SignalLoss = "signal-closed" | "ping-timeout";

/**
 * `sid`'s quality in a ConnectionQualityUpdate, named as the engines' quality events name it
 * (excellent, good, poor, lost); undefined when the update has none for it. Every update naming it
 * counts, changed or not, as rtc-node's ConnectionQualityChanged fires on each (the native
 * engine's events).
 */
export function ownQuality(updates: readonly ConnectionQualityInfo[], sid: string): string | undefined {
  if (sid === "") return undefined;
  const own = updates.findLast((u) => u.participantSid === sid);
  if (own === undefined) return undefined;
  const name = ConnectionQuality[own.quality] as string | undefined;
  return name === undefined ? undefined : name.toLowerCase();
}

/** How a connection opened: a new session (JoinResponse) or a resumed one (ReconnectResponse). */
export type Opening =
  | { readonly case: "join"; readonly value: JoinResponse }
  | { readonly case: "reconnect"; readonly value: ReconnectResponse };

export interface ResumeOf {
  /** The participant sid of the session to resume. */
  readonly sid: string;
  readonly reason: ReconnectReason;
}

export interface ConnectOptions {
  readonly autoSubscribe: boolean;
  /** Resume this session (`reconnect=1`) instead of joining as a new one. */
  readonly resume?: ResumeOf | undefined;
  /** The ping cadence of the session, seconds: a ReconnectResponse carries none, the JoinResponse's holds. */
  readonly ping?: { readonly intervalS: number; readonly timeoutS: number } | undefined;
  readonly timeoutMs?: number | undefined;
}

export interface CandidateInit {
  candidate: string;
  sdpMid?: string | undefined;
  sdpMLineIndex?: number | undefined;
  usernameFragment?: string | undefined;
}

/**
 * The signalling URL for a join, or with `resume` for a resume of that session (`reconnect=1`, the
 * sid and why); the token travels as `access_token`, never in a message.
 */
export function joinUrl(url: string, token: string, autoSubscribe: boolean, resume?: ResumeOf): string {
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
    ...(resume === undefined
      ? {}
      : { reconnect: "1", sid: resume.sid, reconnect_reason: String(resume.reason) }),
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

/**
 * A SignalRequest carrying pingReq (field 16) whose Ping has `timestampMs` (field 1; rtt, field 2,
 * left at 0 and so absent), written byte by byte: @bufbuild's reflection built two messages, wrapped
 * their fields and walked their descriptors for these 5-10 bytes, 30 times a second at 150
 * participants (LiveKit asks for a ping every 5 s), about a third of the ping's cost on the worker's
 * JavaScript thread by its CPU profile. signal.test.ts holds it to @bufbuild's bytes.
 */
export function pingRequest(timestampMs: number): Buffer {
  // proto3 leaves a field at its default (0) out
  const ping = timestampMs === 0 ? [] : [0x08, ...varint(timestampMs)];
  return Buffer.from([0x82, 0x01, ...varint(ping.length), ...ping]);
}

/** A non-negative integer below 2^53 as a protobuf varint. */
function varint(n: number): number[] {
  const bytes: number[] = [];
  let rest = Math.trunc(n);
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

/**
 * Whether `data` is a SignalResponse holding pongResp (field 20) and nothing else: its tag, then a
 * one-byte length that runs to the end. Its Pong is not read (only counted), so it is not decoded.
 */
export function isPongResponse(data: Buffer): boolean {
  return data.length >= 3 && data[0] === 0xa2 && data[1] === 0x01 && data[2] === data.length - 3;
}

/** The URL without its query, for messages: the query holds the token. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** One participant's signalling WebSocket: binary SignalRequest out, SignalResponse in. */
export class SignalConnection {
  /** Ends this connection's pings on the process's ping clock. */
  private stopPings: (() => void) | undefined;
  /** Our leave, a server leave or `drop`: the close that follows is not a loss to report. */
  private quiet = false;
  /** Messages that arrived between the upgrade and the opening response, held until `start`. */
  private early: SignalResponse[] = [];
  private lastMessageMs = Date.now();
  /** pongResps received: the server's read loop answers pings only once it runs. */
  private pongs = 0;

  private constructor(
    private readonly ws: WebSocket,
    readonly opening: Opening,
    /** The ping cadence, seconds: from the JoinResponse, or the joined session's on a resume. */
    readonly ping: { readonly intervalS: number; readonly timeoutS: number },
    private readonly handlers: SignalHandlers,
  ) {
    ws.on("message", (data: Buffer) => {
      this.lastMessageMs = Date.now();
      // the answer to each ping, 30 a second at 150 participants: counted without decoding
      if (isPongResponse(data)) this.pongs++;
      else this.dispatch(SignalResponse.fromBinary(data));
    });
    ws.on("close", () => {
      this.stopPing();
      if (!this.quiet) {
        this.quiet = true;
        handlers.lost("signal-closed");
      }
    });
    ws.on("error", () => {
      // a close event follows
    });
    if (ping.intervalS > 0) {
      this.stopPings = sharedPingClock.every(ping.intervalS * 1000, () => {
        // a server that answered nothing, not even pongResp, for pingTimeout is gone: end the
        // socket as a client SDK would and say why
        if (ping.timeoutS > 0 && Date.now() - this.lastMessageMs > ping.timeoutS * 1000) {
          this.lose("ping-timeout");
          return;
        }
        // pingReq, not the deprecated int64 ping; the server answers pongResp
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(pingRequest(Date.now()));
      });
    }
  }

  /** The JoinResponse of a new session; undefined on a resumed one. */
  get join(): JoinResponse | undefined {
    return this.opening.case === "join" ? this.opening.value : undefined;
  }

  /** The node that answered: a JoinResponse and a ReconnectResponse both name it. */
  get nodeId(): string | undefined {
    return this.opening.value.serverInfo?.nodeId || undefined;
  }

  /**
   * Opens the socket and waits for the JoinResponse, or the ReconnectResponse of a resume. Messages
   * before it are replayed by `start`. A leave instead (a refused resume) rejects with reason `left`.
   */
  static async connect(
    url: string,
    token: string,
    options: ConnectOptions,
    handlers: SignalHandlers,
  ): Promise<SignalConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const target = joinUrl(url, token, options.autoSubscribe, options.resume);
    const ws = new WebSocket(target, { perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    const early: SignalResponse[] = [];
    const expected = options.resume === undefined ? "JoinResponse" : "ReconnectResponse";
    const opening = await new Promise<Opening>((resolve, reject) => {
      const timer = setTimeout(() => {
        fail(
          new LeanError(
            "timeout",
            `no ${expected} from ${shown(url)} within ${timeoutMs} ms - is the server overloaded?`,
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
        fail(
          new LeanError(
            "closed",
            `${shown(url)} closed the signalling socket (${code}) before the ${expected}`,
          ),
        );
      });
      let opened = false;
      ws.on("message", (data: Buffer) => {
        const response = SignalResponse.fromBinary(data);
        const m = response.message;
        // ws emits every message of one TCP read synchronously: the offer often follows the
        // opening response in the same read, before this promise's continuation runs, so keep
        // collecting until the connection object takes the socket over
        if (opened) {
          early.push(response);
        } else if (m.case === "join" || m.case === "reconnect") {
          opened = true;
          clearTimeout(timer);
          resolve(m);
        } else if (m.case === "leave") {
          fail(
            new LeanError(
              "left",
              `${shown(url)} sent leave before the ${expected} (reason ${DisconnectReason[m.value.reason]}, action ${LeaveRequest_Action[m.value.action]})`,
            ),
          );
        } else {
          early.push(response);
        }
      });
    });
    ws.removeAllListeners();
    const ping =
      opening.case === "join"
        ? { intervalS: opening.value.pingInterval, timeoutS: opening.value.pingTimeout }
        : (options.ping ?? { intervalS: 0, timeoutS: 0 });
    const connection = new SignalConnection(ws, opening, ping, handlers);
    connection.early = early;
    return connection;
  }

  /** Delivers what arrived with the opening response; call once the handlers' owner is ready. */
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
      case "update":
        this.handlers.participants(m.value.participants);
        break;
      case "refreshToken":
        this.handlers.refreshToken(m.value);
        break;
      case "connectionQuality":
        this.handlers.connectionQuality(m.value.updates);
        break;
      case "subscribedQualityUpdate":
        this.handlers.subscribedQualities(m.value);
        break;
      case "pongResp":
        this.pongs++;
        break;
      case "leave":
        // the server closes the socket after its leave: that close is not a second loss
        this.quiet = true;
        this.stopPing();
        this.handlers.leave(m.value);
        break;
      default:
        // roomUpdate, pong ...: not needed to move media
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

  /** Which layer of subscribed tracks to forward, or whether at all (a client SDK's setVideoQuality, setEnabled). */
  updateTrackSettings(settings: UpdateTrackSettings): void {
    this.send(request("trackSetting", settings));
  }

  /** What a resumed session still has: the server checks the published tracks, restores subscriptions. */
  syncState(state: SyncState): void {
    this.send(request("syncState", state));
  }

  /**
   * Asks the server to act out a scenario (a client SDK's simulateScenario, a drill's
   * client.simulate); resolves once the request is handed to the socket, so a close right after it
   * does not lose it. Refused when the socket is not open.
   */
  simulate(scenario: SimulateScenario["scenario"]): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN || this.quiet)
      return Promise.reject(new LeanError("closed", "the signalling socket is not open"));
    const message = new SignalRequest({ message: request("simulate", new SimulateScenario({ scenario })) });
    return new Promise<void>((resolve, reject) => {
      // ws passes null on success, whatever its types say
      this.ws.send(message.toBinary(), (err?: unknown) => {
        if (err instanceof Error) reject(err);
        else resolve();
      });
    });
  }

  /**
   * Sends a ping and returns a check of whether the server has answered it (its pongResp): the
   * server reads a socket's messages only after it has done what opening it started (a resume:
   * the ReconnectResponse, the ICE-restart offer, any simulated close), so an answer says the
   * socket outlived all of that.
   */
  probe(): () => boolean {
    const before = this.pongs;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(pingRequest(Date.now()));
    return () => this.pongs > before;
  }

  /** Closes the socket at once without a leave and without reporting a loss: the session carries on elsewhere. */
  drop(): void {
    this.quiet = true;
    this.stopPing();
    this.ws.removeAllListeners("message");
    this.ws.terminate();
  }

  /** Ends the socket as lost (a test's or a chaos drill's signalling cut): the owner reconnects. */
  lose(cause: SignalLoss): void {
    if (this.quiet) return;
    this.quiet = true;
    this.stopPing();
    this.ws.removeAllListeners("message");
    this.ws.terminate();
    this.handlers.lost(cause);
  }

  /** Sends leave and closes; the server then ends the session without waiting for a timeout. */
  async leave(): Promise<void> {
    this.quiet = true;
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
    this.stopPings?.();
    this.stopPings = undefined;
  }
}
