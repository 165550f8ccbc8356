import { execFile } from "node:child_process";
import { COUNTS_FIELDS, type CountReceived } from "./native-counts.js";
import { copySlot, turnCopy } from "./slot-reading.js";
import type { Socket } from "node:dgram";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { constants, homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { messageOf } from "@livekit-swarm/schema";

/**
 * The lean engine's native media path (tools/lean-media/lean-media.c, issue 51), built with cc on
 * first use and loaded into the process: one thread wakes once per 20 ms tick for every audio
 * publisher of the process, seals its packet (SRTP AES-128-GCM) and sends it with sendmmsg, so the
 * JavaScript thread neither wakes for it nor touches the packet. The TypeScript path
 * (direct-send.ts) stays the fallback and the oracle the native bytes are tested against.
 *
 * Opt-in while it covers audio publishing only: LKSWARM_LEAN_NATIVE=1. Any reason it cannot load
 * (not Linux, no C compiler, no Node headers, cc failing, dlopen refusing) leaves the TypeScript
 * path in place and is said once.
 */

const run = promisify(execFile);

/** The addon's surface (lean-media.c's Node-API functions). */
export interface LeanMediaAddon {
  /** The sealed payload and its 16-byte tag, as GcmRtpSealer.seal gives them. */
  seal(key: Buffer, salt: Buffer, header: Buffer, payload: Buffer, rolloverCounter: number): Buffer;
  /** An RTCP compound packet sealed as SRTCP (AES-128-GCM) with `index`, as werift's GcmCipher.encryptRTCP gives it. */
  sealRtcp(key: Buffer, salt: Buffer, packet: Buffer, index: number): Buffer;
  /** An SRTCP packet (AES-128-GCM, E flag set) opened as werift's GcmCipher.decryptRTCP opens it; undefined when it is not one or does not authenticate. */
  openRtcp(key: Buffer, salt: Buffer, packet: Buffer): Buffer | undefined;
  /** The receiver report the thread builds from the streams' slots at `nowMs` (moving their priors on), for tests. */
  receiverReport(
    rtcpSsrc: number,
    ssrcs: readonly number[],
    slots: readonly Float64Array[],
    nowMs: number,
  ): Buffer;
  /**
   * The compound (werift's sender report, then `sdes`) the thread sends for a stream whose last
   * packet went at `sentMs` (nowMs()) with `timestamp`, `epochMs` being Unix ms minus nowMs(); for tests.
   */
  senderReport(
    ssrc: number,
    sentMs: number,
    epochMs: number,
    timestamp: number,
    packets: number,
    octets: number,
    sdes: Buffer,
  ): Buffer;
  /**
   * The thread sends sender `id`'s reports from now on (lean-media.c sender_report), sealed with the
   * local SRTCP key and salt after `index`, each followed by `sdes` (whole 32-bit words, at most 272
   * bytes); `packets` and `octets`: werift's counts before this registration. Throws while the
   * thread reports the sender already (unreportSender first). The slot's srLsr and srSentMs say the
   * last report it sent.
   */
  reportSender(
    id: number,
    key: Buffer,
    salt: Buffer,
    index: number,
    sdes: Buffer,
    epochMs: number,
    packets: number,
    octets: number,
  ): void;
  /**
   * The thread no longer sends sender `id`'s reports: the last SRTCP index it sealed and how many
   * it sealed (the last one is in the slot); undefined when it sealed none.
   */
  unreportSender(id: number): { index: number; reports: number } | undefined;
  addLoop(payloads: readonly Buffer[]): number;
  addSender(sender: NativeSenderSpec, slot: Float64Array): number;
  pauseSender(id: number, paused: boolean): void;
  rekey(id: number, key: Buffer, salt: Buffer, roc: number, lastSeq: number, rocProcessed: number): void;
  removeSender(id: number): void;
  start(): void;
  stop(): void;
  stats(): {
    /** The thread's wakes: its ticks' and its consent passes' (lean-media.c consents_due). */
    wakes: number;
    ticks: number;
    skipped: number;
    /** Receiver reports the thread sent (native-reports.ts). */
    reports: number;
    /** werift's sender reports the thread sent (native-audio.ts). */
    senderReports: number;
    keepalives: number;
    /** Consent checks the thread sent, and answers to them it took (consent.ts). */
    consentRequests: number;
    consentAnswers: number;
    /** The server's RTCP compounds the thread took instead of handing them on (takeRtcp). */
    rtcpTaken: number;
    /** Of them, those with sender reports (to subscribers; the rest are publishers' receiver reports and XR). */
    rtcpTakenSenderReports: number;
  };
  /** Ticks run 0, 1, ... 99 ms late (whole ms) and 100 or more (the last), since the addon loaded (native-lateness.ts). */
  lateness(): number[];
  /** The thread's own send jitter now (RFC 3550's estimator over its ticks' lateness), ms; undefined before it has one. */
  sendJitter(): number | undefined;
  /** CLOCK_MONOTONIC in ms, the clock of a slot's SENT_MS and of a received record's arrival. */
  nowMs(): number;
  /** One sendto of `data` on `fd` to `address` (IPv4 as a number): the bytes sent, or -errno. */
  sendTo(fd: number, data: Buffer, address: number, port: number): number;
  /** `deliver` gets each tick's received records (native-receive.ts reads them). */
  onReceived(deliver: (batch: Buffer) => void): void;
  addReceiver(fd: number, address: number, port: number): number;
  setReceiverRemote(id: number, address: number, port: number): void;
  setReceiverPayloadTypes(id: number, types: readonly number[]): void;
  /** With `counts` (native-counts.ts), the stream's packets are counted by the thread into it. */
  addReceiverSsrc(id: number, ssrc: number, tagBytes: number, counts?: Float64Array): void;
  removeReceiver(id: number): void;
  /**
   * A packet of a stream the thread counts, taken by JavaScript instead, into its counters (parts:
   * 1 InboundStream's, 2 werift's); false when the thread no longer counts the stream.
   */
  countReceived(id: number, ssrc: number, ...packet: Parameters<CountReceived>): boolean;
  /**
   * The thread sends the receiver reports of werift's receiver `rtcpSsrc` (native-reports.ts) for
   * `ssrcs`, counted on socket `id`, sealed with the local SRTCP key and salt after `index`;
   * `initial`: per stream, the fraction-lost priors (expected, received), the LSR and its arrival.
   */
  addReporter(
    id: number,
    rtcpSsrc: number,
    ssrcs: readonly number[],
    key: Buffer,
    salt: Buffer,
    index: number,
    initial: readonly number[],
  ): void;
  /** The thread no longer reports for `rtcpSsrc`: the SRTCP index it reached, or -1 for none. */
  removeReporter(id: number, rtcpSsrc: number): number;
  /** A sender report werift took for `ssrc` counted on socket `id` (LSR, arrival on nowMs()'s clock); false when not counted there. */
  setLastSr(id: number, ssrc: number, lsr: number, arrivalMs: number): boolean;
  /**
   * The thread takes the server's RTCP on socket `id` that `takes` names (TAKE_SENDER_REPORTS,
   * TAKE_PUBLISHER_FEEDBACK) instead of handing it on, opened with this remote SRTCP key
   * (AES-128-GCM): a compound it cannot open, or with any other packet in it, still comes to the
   * socket's listeners (lean-media.c take_rtcp). `takes` 0: none.
   */
  takeRtcp(id: number, takes: number, key?: Buffer, salt?: Buffer): void;
  /**
   * The thread answers the server's keepalives on socket `id`'s selected pair with these local ICE
   * credentials (UTF-8) and role, as binding.ts would (lean-media.c answer_keepalive), adding each
   * to `answered[0]`, which JavaScript reads without a lock.
   */
  answerKeepalives(
    id: number,
    ufrag: Buffer,
    password: Buffer,
    controlling: boolean,
    answered: Float64Array,
  ): void;
  /** The thread no longer answers keepalives on socket `id`. */
  answerKeepalives(id: number): void;
  /** The thread's answer to a request from `address`:`port`, or undefined when it would leave it to JavaScript; for tests. */
  answerKeepalive(
    request: Buffer,
    ufrag: Buffer,
    password: Buffer,
    controlling: boolean,
    address: number,
    port: number,
  ): Buffer | undefined;
  /**
   * The thread checks consent on socket `id` (lean-media.c consent_due): `request` (consent.ts's)
   * under a fresh transaction id to `address`:`port` when due, first at `firstMs` (nowMs()'s
   * clock), keyed with the remote `password` (UTF-8); what it sent and took goes into `state`
   * (CONSENT_FIELDS doubles, zeros, under the sequence lock).
   */
  checkConsent(
    id: number,
    request: Buffer,
    password: Buffer,
    address: number,
    port: number,
    firstMs: number,
    state: Float64Array,
  ): void;
  /** The thread stops checking consent on socket `id` if `state` is still what it writes. */
  checkConsent(id: number, state: Float64Array): void;
  /** The request the thread sends under `transactionId`; for tests. */
  consentRequest(request: Buffer, password: Buffer, transactionId: Buffer): Buffer;
  /** Whether the thread takes `data` as the answer to `transactionId`; for tests. */
  consentAnswered(data: Buffer, transactionId: Buffer, password: Buffer): boolean;
  readonly SLOT_FIELDS: number;
  readonly CONSENT_FIELDS: number;
  readonly COUNTS_FIELDS: number;
}

/** One stream handed to the native thread (see lean-media.c addSender). */
export interface NativeSenderSpec {
  readonly fd: number;
  /** The remote IPv4 address as a 32-bit number. */
  readonly address: number;
  readonly port: number;
  /** The RTP header template: marker, sequence number and timestamp are written per packet. */
  readonly header: Buffer;
  /** The next packet's sequence number. */
  readonly seq: number;
  /** The timestamp of packet 0: packet n carries timestamp + n x timestampStep. */
  readonly timestamp: number;
  readonly timestampStep: number;
  /** The next packet's n: its loop index and timestamp step count. */
  readonly tick: number;
  readonly roc: number;
  readonly lastSeq: number;
  readonly rocProcessed: number;
  readonly key: Buffer;
  readonly salt: Buffer;
  readonly loop: number;
}

/** The fields of a stream's slot (lean-media.c's SLOT_* order). */
export const SLOT = {
  gen: 0,
  packets: 1,
  octets: 2,
  headerBytes: 3,
  wireBytes: 4,
  seq: 5,
  timestamp: 6,
  sentMs: 7,
  dropped: 8,
  roc: 9,
  lastSeq: 10,
  skipped: 11,
  tick: 12,
  /** The last sender report the thread sent (native-audio.ts): its compact NTP, 0 before one. */
  srLsr: 13,
  /** And when it went, nowMs(). */
  srSentMs: 14,
} as const;
const SLOT_FIELDS = 15;
/** The doubles of a socket's consent state (lean-media.c's CS_* order; native-consent.ts reads them). */
export const CONSENT_FIELDS = 11;

/** A consistent copy of a stream's slot (the thread writes it under a sequence lock). */
export type SlotReading = { readonly [K in keyof typeof SLOT]: number };

/** A sender slot's copy by its fields' names. */
function named(at: Float64Array): SlotReading {
  const f = (i: number): number => at[i] ?? 0;
  return {
    gen: f(SLOT.gen),
    packets: f(SLOT.packets),
    octets: f(SLOT.octets),
    headerBytes: f(SLOT.headerBytes),
    wireBytes: f(SLOT.wireBytes),
    seq: f(SLOT.seq),
    timestamp: f(SLOT.timestamp),
    sentMs: f(SLOT.sentMs),
    dropped: f(SLOT.dropped),
    roc: f(SLOT.roc),
    lastSeq: f(SLOT.lastSeq),
    skipped: f(SLOT.skipped),
    tick: f(SLOT.tick),
    srLsr: f(SLOT.srLsr),
    srSentMs: f(SLOT.srSentMs),
  };
}

/** Reads `slot` as of now: retried while the thread is writing it. */
export function readSlot(slot: Float64Array): SlotReading {
  return named(copySlot(slot));
}

/**
 * Reads `slot` as of one moment for the rest of this JavaScript turn (slot-reading.ts turnCopy):
 * every field werift's sender reads for one sender report (packet and octet counts, the RTP
 * timestamp, the NTP time it was sent at) is of the same packet.
 */
export function turnSlot(slot: Float64Array): SlotReading {
  return named(turnCopy(slot));
}

/** A new slot for one stream. */
export function newSlot(): Float64Array {
  return new Float64Array(SLOT_FIELDS);
}

/** A dgram socket's libuv handle (Node keeps it behind a symbol); undefined once closed. */
interface UdpHandle {
  readonly fd?: unknown;
  recvStart?(): number;
  recvStop?(): number;
}

/** dgram's symbol for a socket's state (one for every socket of the process), once found. */
let stateSymbol: symbol | undefined;

export function udpHandle(socket: Socket): UdpHandle | undefined {
  stateSymbol ??= Object.getOwnPropertySymbols(socket).find((s) => s.description === "state symbol");
  const held =
    stateSymbol === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[stateSymbol];
  return (held as { handle?: UdpHandle | null } | undefined)?.handle ?? undefined;
}

/** The fd of a bound dgram socket; undefined when it has none. */
export function socketFd(socket: Socket): number | undefined {
  const fd = udpHandle(socket)?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd > 2 ? fd : undefined;
}

/** Datagrams sendsDirect's sockets sent with the addon's sendTo, and those it handed to dgram after a refusal. */
export const directSends = { sent: 0, handedToDgram: 0 };

const sendingDirect = new WeakSet<Socket>();

/**
 * Has `socket.send(buffer, port, ipv4)`, the form of every datagram werift writes on a socket of
 * the native path (RTCP, ICE checks and consent, DTLS, data channels, video RTP on a bundled
 * socket) and of lean's own consent, go out through the addon's sendTo: one syscall on this thread
 * instead of dgram's argument handling, libuv's send request and its completion. Any other form, a
 * closed or unbound socket, or a datagram the kernel did not take (EAGAIN on a full buffer, an
 * error) goes to dgram's own send, which queues, throws or reports it as it always did; until
 * every send handed to dgram has completed, later ones go to dgram too, so none overtakes another
 * (dgram holds a datagram for its address lookup, a tick, before libuv sends or queues it).
 */
export function sendsDirect(socket: Socket, addon: Pick<LeanMediaAddon, "sendTo">): void {
  if (sendingDirect.has(socket)) return;
  sendingDirect.add(socket);
  const dgramSend = socket.send.bind(socket) as (...args: unknown[]) => void;
  let lastHost = "";
  let lastAddress: number | undefined;
  /** Sends handed to dgram and not yet completed. */
  let inDgram = 0;
  socket.send = ((...args: unknown[]): void => {
    const [data, port, host] = args;
    if (
      inDgram === 0 &&
      args.length === 3 &&
      typeof port === "number" &&
      Number.isInteger(port) &&
      port > 0 &&
      port < 0x1_0000 &&
      typeof host === "string" &&
      Buffer.isBuffer(data)
    ) {
      if (host !== lastHost) {
        lastHost = host;
        lastAddress = ipv4Number(host);
      }
      const fd = lastAddress === undefined ? undefined : socketFd(socket);
      if (fd !== undefined && lastAddress !== undefined) {
        if (addon.sendTo(fd, data, lastAddress, port) >= 0) {
          directSends.sent++;
          return;
        }
        directSends.handedToDgram++;
      }
    }
    // through dgram, followed to its completion: a callback of the caller's is called as it was;
    // without one, dgram drops a send's error and emits a failed lookup's, and so does this one
    inDgram++;
    // a trailing undefined is dgram's "no callback" (or no address): the callback takes its place
    while (args.length > 1 && args.at(-1) === undefined) args.pop();
    const last = args.at(-1);
    if (typeof last === "function")
      args[args.length - 1] = (err: Error | null, bytes?: number): void => {
        inDgram--;
        (last as (err: Error | null, bytes?: number) => void)(err, bytes);
      };
    else
      args.push((err: (Error & { syscall?: string }) | null): void => {
        inDgram--;
        if (err?.syscall === "getaddrinfo") socket.emit("error", err);
      });
    try {
      dgramSend(...args);
    } catch (err) {
      inDgram--;
      throw err;
    }
  }) as Socket["send"];
}

/** Callbacks every CHECK_MS for the process's native streams (one timer, however many). */
const checks = new Set<() => void>();
let checkTimer: NodeJS.Timeout | undefined;
/** How often native streams are held to werift's state: a pair change costs at most this. */
export const CHECK_MS = 250;

/** Runs `check` every CHECK_MS until the returned removal. */
export function everyCheck(check: () => void): () => void {
  checks.add(check);
  checkTimer ??= setInterval(() => {
    for (const c of checks) c();
  }, CHECK_MS).unref();
  return () => {
    checks.delete(check);
    if (checks.size === 0 && checkTimer !== undefined) {
      clearInterval(checkTimer);
      checkTimer = undefined;
    }
  };
}

/** tools/lean-media/lean-media.c beside this module: a clone's, or the copy the published package carries. */
export function leanMediaSource(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const source = join(dir, "tools", "lean-media", "lean-media.c");
    if (existsSync(source)) return source;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Where the addon is built: LIVEKIT_SWARM_TOOLS, else the per-user cache the published package uses. */
function libraryDir(): string {
  return (
    process.env.LIVEKIT_SWARM_TOOLS ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "livekit-swarm", "bin")
  );
}

/** The Node headers to build against: beside the running node's prefix, then the distribution's. */
function nodeHeaders(): string | undefined {
  const candidates = [join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node"];
  return candidates.find(
    (dir) => existsSync(join(dir, "node_api.h")) && existsSync(join(dir, "openssl", "evp.h")),
  );
}

/** -ffp-contract=off: no fused multiply-add, so the received streams' counters (lean-media.c) are the TypeScript path's to the bit. */
const CC_FLAGS = ["-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-Wextra", "-ffp-contract=off"];

/**
 * The addon's path, built from `source` with cc when no build of this very source and node is
 * there yet (the name carries a hash of both, so an edited source is rebuilt); a string is why it
 * cannot be had, in one line. `source` "" is none.
 */
export async function buildLeanMedia(
  source = leanMediaSource(),
  dir = libraryDir(),
): Promise<{ path: string } | string> {
  if (process.platform !== "linux") return `the native media path is for Linux (this is ${process.platform})`;
  if (source === undefined || source === "") return "no tools/lean-media/lean-media.c is beside this install";
  const headers = nodeHeaders();
  if (headers === undefined)
    return "no Node headers with OpenSSL's (node_api.h, openssl/evp.h) to build the native media path against";
  const hash = createHash("sha256")
    .update(readFileSync(source))
    .update(`${process.version} ${process.arch} ${CC_FLAGS.join(" ")}`)
    .digest("hex")
    .slice(0, 12);
  const path = join(dir, `lean-media-${hash}-${process.platform}-${process.arch}.node`);
  if (existsSync(path)) return { path };
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    await run("cc", [...CC_FLAGS, "-I", headers, "-o", tmp, source, "-lpthread"]);
    renameSync(tmp, path);
    return { path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return `no C compiler to build the native media path from ${source} (apt-get install gcc)`;
    const stderr = (err as { stderr?: string }).stderr ?? messageOf(err);
    return `cc could not build ${source}: ${stderr.trim().split("\n")[0] ?? ""}`;
  }
}

/** Loads the addon at `path` with every symbol bound now (a missing one is a throw here, not a crash later). */
export function loadLeanMediaAddon(path: string): LeanMediaAddon {
  const module = { exports: {} as LeanMediaAddon };
  process.dlopen(module, path, constants.dlopen.RTLD_NOW);
  const { SLOT_FIELDS: slot, COUNTS_FIELDS: counts, CONSENT_FIELDS: consent } = module.exports;
  if (slot !== SLOT_FIELDS || counts !== COUNTS_FIELDS || consent !== CONSENT_FIELDS)
    throw new Error(
      `${path} has ${slot} slot, ${counts} counts and ${consent} consent fields, this module reads ${SLOT_FIELDS}, ${COUNTS_FIELDS} and ${CONSENT_FIELDS}`,
    );
  return module.exports;
}

let loading: Promise<LeanMediaAddon | string> | undefined;

/** The process's addon, built and loaded once; a string is why the TypeScript path stays. */
/** The addon when an earlier leanMedia() has loaded it; undefined otherwise (this never builds it). */
export function loadedLeanMedia(): LeanMediaAddon | undefined {
  return loaded;
}
let loaded: LeanMediaAddon | undefined;

export function leanMedia(): Promise<LeanMediaAddon | string> {
  loading ??= (async () => {
    const built = await buildLeanMedia();
    if (typeof built === "string") return built;
    try {
      const addon = loadLeanMediaAddon(built.path);
      // the thread stops before OpenSSL's own exit handlers run (process.exit skips the addon's
      // environment cleanup)
      process.once("exit", () => {
        addon.stop();
      });
      loaded = addon;
      return addon;
    } catch (err) {
      return `${built.path} would not load: ${messageOf(err)}`;
    }
  })();
  return loading;
}

/** Whether this process was asked for the native media path (LKSWARM_LEAN_NATIVE=1). */
export function nativeMediaWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.LKSWARM_LEAN_NATIVE === "1";
}

/** An IPv4 address in dotted form as the 32-bit number addSender takes; undefined for anything else. */
export function ipv4Number(address: string): number | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    // no leading zero: getaddrinfo would read "010" as octal
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    n = n * 256 + byte;
  }
  return n;
}
