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

/** Waits for the PeerConnection (ICE and DTLS) to be connected; rejects if it fails or closes. */
export async function connected(pc: RTCPeerConnection, timeoutMs: number, name: string): Promise<void> {
  if (pc.connectionState === "connected") return;
  let unsubscribe: (() => void) | undefined;
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        unsubscribe = pc.connectionStateChange.subscribe((state) => {
          if (state === "connected") resolve();
          else if (state === "failed" || state === "closed")
            reject(new LeanError("negotiation", `the ${name} PeerConnection ${state}`));
        }).unSubscribe;
      }),
      timeoutMs,
      `the ${name} PeerConnection did not connect (ICE/DTLS) - is UDP to the server's rtc port reachable?`,
    );
  } finally {
    unsubscribe?.();
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
