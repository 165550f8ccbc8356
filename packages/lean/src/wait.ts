import type { RTCPeerConnection } from "werift";
import { LeanError } from "./errors.js";

/** Resolves with `promise`, or rejects with a `timeout` LeanError naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new LeanError("timeout", `${what} within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 50 ms until it holds; for conditions no event announces. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  if (condition()) return;
  let poll: NodeJS.Timeout | undefined;
  try {
    await within(
      new Promise<void>((resolve) => {
        poll = setInterval(() => {
          if (condition()) resolve();
        }, 50);
      }),
      timeoutMs,
      what,
    );
  } finally {
    clearInterval(poll);
  }
}

/** An event of werift's, as `connected` listens to it. */
interface Subscribable<T> {
  subscribe(f: (value: T) => void): { unSubscribe: () => void };
}

/** What of a werift RTCPeerConnection `connected` reads (its types, narrowed for tests). */
export interface ConnectingPeer {
  readonly connectionState: string;
  readonly iceConnectionState: string;
  readonly dtlsTransports: readonly {
    readonly state: string;
    readonly onStateChange: Subscribable<string>;
  }[];
  readonly connectionStateChange: Subscribable<string>;
  readonly iceConnectionStateChange: Subscribable<string>;
}

/**
 * Media can flow on `pc`: ICE has a working pair and every DTLS transport has its keys, what
 * libwebrtc (and so rtc-node and a browser) calls a connected PeerConnection. werift says
 * `connected` only once the SCTP association under its data channels is up too, which werift
 * starts after DTLS and first resends after 3 s (RFC 4960's initial timeout): under a 25% drop a
 * lean join waited up to 3 s for SCTP with media already flowing. ICE read `checking` meanwhile
 * does not count against it: werift runs its ICE start again when a second description arrives
 * during the first (the server's re-offer), going back to `checking` over a pair that works.
 */
export function mediaConnected(pc: ConnectingPeer): boolean {
  if (pc.connectionState === "connected") return true;
  if (pc.connectionState === "failed" || pc.connectionState === "closed") return false;
  const ice = pc.iceConnectionState;
  if (ice === "failed" || ice === "closed" || ice === "disconnected" || ice === "new") return false;
  const dtls = pc.dtlsTransports;
  return dtls.length > 0 && dtls.every((t) => t.state === "connected");
}

/**
 * Waits until media can flow on the PeerConnection (ICE and DTLS, `mediaConnected`); rejects if
 * it fails or closes first.
 */
export async function connected(pc: ConnectingPeer, timeoutMs: number, name: string): Promise<void> {
  if (mediaConnected(pc)) return;
  const unsubscribe: (() => void)[] = [];
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        const watched = new Set<object>();
        const check = (): void => {
          const state = pc.connectionState;
          if (state === "failed" || state === "closed") {
            reject(new LeanError("negotiation", `the ${name} PeerConnection ${state}`));
            return;
          }
          // DTLS transports appear with the descriptions; their `connected` is no PeerConnection event
          for (const t of pc.dtlsTransports)
            if (!watched.has(t)) {
              watched.add(t);
              unsubscribe.push(t.onStateChange.subscribe(check).unSubscribe);
            }
          if (mediaConnected(pc)) resolve();
        };
        unsubscribe.push(pc.connectionStateChange.subscribe(check).unSubscribe);
        unsubscribe.push(pc.iceConnectionStateChange.subscribe(check).unSubscribe);
        check();
      }),
      timeoutMs,
      `the ${name} PeerConnection did not connect (ICE/DTLS) - is UDP to the server's rtc port reachable?`,
    );
  } finally {
    for (const u of unsubscribe) u();
  }
}

/**
 * Waits for ICE to be connected again after a restart. Neither state says so in werift 0.24.4:
 * the PeerConnection's stays `connected` through one (DTLS survives), and the ICE transport's
 * reads `completed` once the new generation's candidates are gathered, before any check: through
 * a 40 s media cut, a subscriber's resume read "reconnected in 56 ms" three times while nothing
 * could reach it. What says the new pair works is a pair nominated since the restart (the restart
 * clears it, a check that succeeds with USE-CANDIDATE sets it) while ICE has not failed.
 */
export async function iceConnected(pc: RTCPeerConnection, timeoutMs: number, name: string): Promise<void> {
  await until(() => iceNominated(pc), timeoutMs, `the ${name} PeerConnection's ICE restart did not connect`);
  await connected(pc, timeoutMs, name);
}

/** A pair is nominated on `pc`'s ICE transport (since its last restart) and ICE has not failed or closed. */
export function iceNominated(pc: {
  readonly iceConnectionState: string;
  readonly iceTransports: readonly { readonly connection: { readonly nominated?: unknown } }[];
}): boolean {
  const state = pc.iceConnectionState;
  if (state === "failed" || state === "closed" || state === "disconnected") return false;
  const transports = pc.iceTransports;
  return transports.length > 0 && transports.every((t) => t.connection.nominated !== undefined);
}

/** A werift data channel, as `opened` reads it. */
export interface OpeningChannel {
  readonly readyState: string;
  readonly stateChanged: Subscribable<string>;
}

/**
 * Waits for a data channel that is `connecting` to open (its SCTP association comes up after
 * DTLS); rejects if it closes, or is not open after `timeoutMs`.
 */
export async function opened(channel: OpeningChannel, timeoutMs: number): Promise<void> {
  if (channel.readyState === "open") return;
  let unsubscribe: (() => void) | undefined;
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        const check = (state: string): void => {
          if (state === "open") resolve();
          else if (state !== "connecting") reject(new LeanError("closed", `the data channel is ${state}`));
        };
        unsubscribe = channel.stateChanged.subscribe(check).unSubscribe;
        check(channel.readyState);
      }),
      timeoutMs,
      "the data channel did not open",
    );
  } finally {
    unsubscribe?.();
  }
}
