import { describe, expect, it } from "vitest";
import { connected, iceNominated, mediaConnected, opened, type ConnectingPeer } from "./wait.js";

const pc = (iceConnectionState: string, nominated: unknown[]) => ({
  iceConnectionState,
  iceTransports: nominated.map((n) => ({ connection: { nominated: n } })),
});

describe("iceNominated", () => {
  it("holds once every ICE transport has a nominated pair, whatever werift's state word", () => {
    expect(iceNominated(pc("connected", [{}]))).toBe(true);
    expect(iceNominated(pc("completed", [{}]))).toBe(true);
    expect(iceNominated(pc("checking", [{}]))).toBe(true);
  });

  it("does not hold after a restart cleared the pair, though werift reads `completed` (candidates gathered)", () => {
    expect(iceNominated(pc("completed", [undefined]))).toBe(false);
    expect(iceNominated(pc("completed", [{}, undefined]))).toBe(false);
    expect(iceNominated(pc("completed", []))).toBe(false);
  });

  it("does not hold once ICE failed, disconnected or closed, a pair still named", () => {
    for (const state of ["failed", "disconnected", "closed"])
      expect(iceNominated(pc(state, [{}]))).toBe(false);
  });
});

/** A werift event: subscribers called in turn, each able to leave. */
class FakeEvent<T> {
  readonly subscribers = new Set<(value: T) => void>();
  subscribe(f: (value: T) => void) {
    this.subscribers.add(f);
    return { unSubscribe: () => this.subscribers.delete(f) };
  }
  fire(value: T): void {
    for (const f of [...this.subscribers]) f(value);
  }
}

/** A PeerConnection as `connected` reads it, moved by hand. */
function peer() {
  const dtls: { state: string; onStateChange: FakeEvent<string> }[] = [];
  const p = {
    connectionState: "new",
    iceConnectionState: "new",
    dtlsTransports: dtls,
    connectionStateChange: new FakeEvent<string>(),
    iceConnectionStateChange: new FakeEvent<string>(),
    dtls,
    ice(state: string) {
      p.iceConnectionState = state;
      p.iceConnectionStateChange.fire(state);
    },
    state(state: string) {
      p.connectionState = state;
      p.connectionStateChange.fire(state);
    },
    dtlsState(state: string) {
      for (const t of dtls) {
        t.state = state;
        t.onStateChange.fire(state);
      }
    },
  };
  return p;
}

describe("mediaConnected: ICE and DTLS up, as libwebrtc says connected", () => {
  const at = (connectionState: string, iceConnectionState: string, dtls: string[]): ConnectingPeer => ({
    ...peer(),
    connectionState,
    iceConnectionState,
    dtlsTransports: dtls.map((state) => ({ state, onStateChange: new FakeEvent<string>() })),
  });

  it("holds once every DTLS transport is connected, werift still `connecting` for its SCTP association", () => {
    expect(mediaConnected(at("connecting", "connected", ["connected"]))).toBe(true);
    // werift runs its ICE start again on a second description: `checking` over a working pair
    expect(mediaConnected(at("connecting", "checking", ["connected"]))).toBe(true);
    expect(mediaConnected(at("connected", "connected", []))).toBe(true);
  });

  it("does not hold before DTLS is up, or once the PeerConnection or its ICE failed or closed", () => {
    expect(mediaConnected(at("connecting", "connected", ["connecting"]))).toBe(false);
    expect(mediaConnected(at("connecting", "connected", ["connected", "connecting"]))).toBe(false);
    expect(mediaConnected(at("connecting", "checking", []))).toBe(false);
    for (const ice of ["failed", "closed", "disconnected", "new"])
      expect(mediaConnected(at("connecting", ice, ["connected"])), ice).toBe(false);
    for (const state of ["failed", "closed"])
      expect(mediaConnected(at(state, "connected", ["connected"])), state).toBe(false);
  });
});

describe("connected: waits for media to be able to flow", () => {
  it("resolves when the DTLS transport, made after the wait began, connects", async () => {
    const p = peer();
    let done = false;
    const wait = connected(p, 5000, "subscriber").then(() => (done = true));
    p.dtls.push({ state: "new", onStateChange: new FakeEvent<string>() });
    p.ice("checking");
    p.ice("connected");
    p.dtlsState("connecting");
    await Promise.resolve();
    expect(done).toBe(false);
    p.dtlsState("connected");
    await wait;
    expect(done).toBe(true);
    // it left werift's events as it found them
    expect(p.iceConnectionStateChange.subscribers.size).toBe(0);
    expect(p.connectionStateChange.subscribers.size).toBe(0);
    expect(p.dtls[0]?.onStateChange.subscribers.size).toBe(0);
  });

  it("rejects naming the PeerConnection when it fails, and times out naming what to check", async () => {
    const p = peer();
    const failing = connected(p, 5000, "publisher");
    p.state("failed");
    await expect(failing).rejects.toThrow("the publisher PeerConnection failed");
    await expect(connected(peer(), 20, "subscriber")).rejects.toThrow(/did not connect \(ICE\/DTLS\)/);
  });
});

describe("opened: a data channel still opening is waited for", () => {
  const channel = (readyState: string) => {
    const stateChanged = new FakeEvent<string>();
    return {
      readyState,
      stateChanged,
      move(state: string) {
        this.readyState = state;
        stateChanged.fire(state);
      },
    };
  };

  it("resolves at once when open, and when an opening one opens", async () => {
    await opened(channel("open"), 10);
    const c = channel("connecting");
    const wait = opened(c, 5000);
    c.move("open");
    await wait;
    expect(c.stateChanged.subscribers.size).toBe(0);
  });

  it("rejects when it closes instead, or is not open in time", async () => {
    const c = channel("connecting");
    const wait = opened(c, 5000);
    c.move("closed");
    await expect(wait).rejects.toThrow("the data channel is closed");
    await expect(opened(channel("closing"), 5000)).rejects.toThrow("the data channel is closing");
    await expect(opened(channel("connecting"), 20)).rejects.toThrow(
      "the data channel did not open within 20 ms",
    );
  });
});
