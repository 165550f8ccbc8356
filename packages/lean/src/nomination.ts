import { Socket } from "node:dgram";
import { Connection } from "werift";
import { requestOn } from "./consent.js";

/**
 * A controlled ICE agent's pings while it waits to be nominated, as libwebrtc's.
 *
 * On the subscriber PeerConnection LiveKit offers, so its ICE agent (pion) controls, and it
 * nominates a pair at one of two moments: on its own check tick, every 200 ms, or at once when a
 * binding request from the controlled agent arrives on a pair its own check found working
 * (pion's controlling selector, `HandleBindingRequest`). libwebrtc, controlled, keeps pinging a
 * connection that has just become writable every 48 ms (its weak ping interval) until the
 * connection settles, so the second moment comes within a ping of pion's check succeeding.
 * werift checks each pair once and then waits for USE-CANDIDATE, so a lean subscriber was
 * nominated on pion's tick: its ICE took 200 ms more than a native one's whenever pion's first
 * nomination was not already under way, and 200 ms more again for each nominating request lost
 * on a lossy path (seen under a 25% drop of the node's outgoing UDP: ICE 22 ms on half the joins,
 * 205-820 ms on the other half, where the pair had worked from the first check).
 *
 * Here, once werift's check on a pair succeeds on a controlled, full (not ICE-lite) connection
 * that has no nominated pair yet, a binding request (consent.ts's, with ICE-CONTROLLED) goes on
 * that pair every `PING_INTERVAL_MS`, up to `PING_LIMIT` of them, until a pair is nominated or
 * the connection closes or fails. The answers are werift's to drop (no transaction of its own is
 * waiting for them). Left to werift: a pair over TCP or TURN, and IPv6 (as consent.ts).
 */

export const PING_INTERVAL_MS = 48;
/** About 2 s of pings; pion's own tick nominates after that, as it did before. */
export const PING_LIMIT = 40;

/** werift's CandidatePairState.SUCCEEDED. */
const SUCCEEDED = 3;

/** What of a werift candidate pair the pings read. */
export interface PingPair {
  readonly state: number;
  readonly remoteAddr: readonly [string, number];
  readonly protocol: { readonly transport: { readonly socket?: unknown } };
  requestsSent: number;
}

/** What of a werift ICE connection the pings read. */
export interface PingConnection {
  readonly iceControlling: boolean;
  readonly iceLite: boolean;
  readonly nominated?: unknown;
  readonly state: string;
  readonly localUsername: string;
  readonly remoteUsername: string;
  readonly remotePassword: string;
  readonly tieBreaker: bigint;
}

/** Whether `connection` should ping `pair` now (see the top of this file). Pure, for tests. */
export function awaitsNomination(connection: PingConnection, pair: PingPair): boolean {
  if (connection.iceControlling || connection.iceLite || connection.nominated !== undefined) return false;
  if (connection.state === "closed" || connection.state === "failed") return false;
  return pair.state === SUCCEEDED && !pair.remoteAddr[0].includes(":");
}

/** The pings' time and sends: a test injects them. */
export interface PingDeps {
  later(fn: () => void, ms: number): void;
  send(socket: Socket, data: Buffer, port: number, address: string): void;
}

const realDeps: PingDeps = {
  later: (fn, ms) => {
    setTimeout(fn, ms).unref();
  },
  send: (socket, data, port, address) => {
    socket.send(data, port, address);
  },
};

/** Connections being pinged: one series each. */
const pinging = new WeakSet<object>();

/**
 * Pings `pair` of `connection` until it is nominated (see the top of this file); does nothing when
 * it should not, or when a series runs for this connection already.
 */
export function pingUntilNominated(
  connection: PingConnection,
  pair: PingPair,
  deps: PingDeps = realDeps,
): void {
  const socket = pair.protocol.transport.socket;
  if (!(socket instanceof Socket) || pinging.has(connection) || !awaitsNomination(connection, pair)) return;
  pinging.add(connection);
  let sent = 0;
  const ping = (): void => {
    if (sent >= PING_LIMIT || !awaitsNomination(connection, pair)) {
      pinging.delete(connection);
      return;
    }
    const { message: request } = requestOn(connection);
    try {
      deps.send(socket, request, pair.remoteAddr[1], pair.remoteAddr[0]);
    } catch {
      // the socket closed under the pair: the connection closes too
      pinging.delete(connection);
      return;
    }
    sent++;
    pair.requestsSent++;
    deps.later(ping, PING_INTERVAL_MS);
  };
  deps.later(ping, PING_INTERVAL_MS);
}

let installed = false;

/**
 * Every werift ICE connection of this process pings a working pair until it is nominated, when
 * it is the controlled one (see the top of this file): werift's `checkComplete`, which each
 * finished check calls, starts the series. Once per process.
 */
export function pingUntilNominatedEverywhere(): void {
  if (installed) return;
  const proto = Connection.prototype as unknown as {
    checkComplete?: (this: PingConnection, pair: PingPair) => unknown;
  };
  const checkComplete = proto.checkComplete;
  if (typeof checkComplete !== "function")
    throw new Error(
      "werift's ICE Connection has no checkComplete where lean pings until nominated: werift changed; check packages/lean's pinned werift version",
    );
  installed = true;
  proto.checkComplete = function (this: PingConnection, pair: PingPair) {
    const result = checkComplete.call(this, pair);
    pingUntilNominated(this, pair);
    return result;
  };
}
