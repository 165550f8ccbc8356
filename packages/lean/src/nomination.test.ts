import { Socket, createSocket } from "node:dgram";
import { afterAll, describe, expect, it } from "vitest";
import { BINDING_REQUEST, ICE_CONTROLLED, stunIntegrityHolds } from "./binding.js";
import {
  PING_INTERVAL_MS,
  PING_LIMIT,
  awaitsNomination,
  pingUntilNominated,
  type PingConnection,
  type PingDeps,
  type PingPair,
} from "./nomination.js";

/** STUN USE-CANDIDATE (RFC 8445 16.1): only a controlling agent sends it. */
const USE_CANDIDATE = 0x0025;

const socket = createSocket("udp4");
afterAll(() => {
  socket.close();
});

function connection(over: Partial<PingConnection> = {}): PingConnection & { nominated?: unknown } {
  return {
    iceControlling: false,
    iceLite: false,
    state: "checking",
    localUsername: "lean",
    remoteUsername: "pion",
    remotePassword: "pion-password-of-22-chars",
    tieBreaker: 7n,
    ...over,
  };
}

function pair(over: Partial<PingPair> = {}): PingPair {
  return {
    state: 3,
    remoteAddr: ["127.0.0.1", 7882],
    protocol: { transport: { socket } },
    requestsSent: 1,
    ...over,
  };
}

/** Timers fired by hand, sends kept. */
function deps() {
  const due: { fn: () => void; ms: number }[] = [];
  const sent: { data: Buffer; port: number; address: string; socket: Socket }[] = [];
  const d: PingDeps = {
    later: (fn, ms) => due.push({ fn, ms }),
    send: (s, data, port, address) => sent.push({ data, port, address, socket: s }),
  };
  const fire = (): number => {
    const next = due.shift();
    if (next === undefined) return -1;
    next.fn();
    return next.ms;
  };
  return { d, due, sent, fire };
}

/** Whether a STUN message carries attribute `type`. */
function hasAttribute(m: Buffer, type: number): boolean {
  for (let at = 20; at + 4 <= m.length;) {
    if (m.readUInt16BE(at) === type) return true;
    const length = m.readUInt16BE(at + 2);
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return false;
}

describe("awaitsNomination", () => {
  it("a controlled, full agent with a working pair and none nominated", () => {
    expect(awaitsNomination(connection(), pair())).toBe(true);
  });

  it("not the controlling agent, an ICE-lite one, one nominated already, a pair not working, a closed or failed connection, IPv6", () => {
    expect(awaitsNomination(connection({ iceControlling: true }), pair())).toBe(false);
    expect(awaitsNomination(connection({ iceLite: true }), pair())).toBe(false);
    expect(awaitsNomination({ ...connection(), nominated: {} }, pair())).toBe(false);
    for (const state of [0, 1, 2, 4])
      expect(awaitsNomination(connection(), pair({ state })), `${state}`).toBe(false);
    for (const state of ["closed", "failed"])
      expect(awaitsNomination(connection({ state }), pair()), state).toBe(false);
    expect(awaitsNomination(connection(), pair({ remoteAddr: ["::1", 7882] }))).toBe(false);
  });
});

describe("pingUntilNominated", () => {
  it("pings the pair every 48 ms as the controlled agent, signed with the remote password, until a pair is nominated", () => {
    const c = connection();
    const p = pair();
    const { d, sent, fire, due } = deps();
    pingUntilNominated(c, p, d);
    expect(sent).toHaveLength(0);
    expect(fire()).toBe(PING_INTERVAL_MS);
    expect(fire()).toBe(PING_INTERVAL_MS);
    expect(sent).toHaveLength(2);
    const m = sent[0]?.data ?? Buffer.alloc(0);
    expect(m.readUInt16BE(0)).toBe(BINDING_REQUEST);
    expect(hasAttribute(m, ICE_CONTROLLED)).toBe(true);
    expect(hasAttribute(m, USE_CANDIDATE)).toBe(false);
    expect(m.subarray(24, 24 + "pion:lean".length).toString()).toBe("pion:lean");
    // MESSAGE-INTEGRITY sits before the 8-byte FINGERPRINT and is 24 bytes with its header
    expect(stunIntegrityHolds(m, m.length - 8 - 24, "pion-password-of-22-chars")).toBe(true);
    expect(sent[0]).toMatchObject({ port: 7882, address: "127.0.0.1", socket });
    expect(sent[0]?.data.subarray(8, 20).equals(sent[1]?.data.subarray(8, 20) ?? Buffer.alloc(0))).toBe(
      false,
    );
    expect(p.requestsSent).toBe(3);
    // LiveKit nominated: the next tick sends nothing and ends the series
    (c as { nominated?: unknown }).nominated = {};
    fire();
    expect(sent).toHaveLength(2);
    expect(due).toHaveLength(0);
  });

  it("stops after PING_LIMIT pings, and a second series for the same connection waits for the first to end", () => {
    const c = connection();
    const { d, sent, fire } = deps();
    pingUntilNominated(c, pair(), d);
    pingUntilNominated(c, pair(), d);
    while (fire() >= 0);
    expect(sent).toHaveLength(PING_LIMIT);
    // the series ended: another may start (werift checked the pair again)
    pingUntilNominated(c, pair(), d);
    fire();
    expect(sent).toHaveLength(PING_LIMIT + 1);
  });

  it("sends nothing for a pair that should not be pinged, and ends when the socket refuses a send", () => {
    const { d, sent, due } = deps();
    pingUntilNominated(connection({ iceControlling: true }), pair(), d);
    pingUntilNominated(connection(), pair({ protocol: { transport: { socket: {} } } }), d);
    expect(due).toHaveLength(0);
    const failing: PingDeps = {
      later: (fn, ms) => {
        d.later(fn, ms);
      },
      send: () => {
        throw new Error("Not running");
      },
    };
    pingUntilNominated(connection(), pair(), failing);
    due.shift()?.fn();
    expect(due).toHaveLength(0);
    expect(sent).toHaveLength(0);
  });
});
