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
 * Waits for ICE to be connected again after a restart: the PeerConnection's own state can stay
 * `connected` through one (DTLS survives), so only the ICE state says the new pair works.
 */
export async function iceConnected(pc: RTCPeerConnection, timeoutMs: number, name: string): Promise<void> {
  await until(
    () => pc.iceConnectionState === "connected" || pc.iceConnectionState === "completed",
    timeoutMs,
    `the ${name} PeerConnection's ICE restart did not connect`,
  );
  await connected(pc, timeoutMs, name);
}
