import { describe, expect, it } from "vitest";
import { TransportWatch, transportClass, transportClasses, type TransportEvent } from "./transport.js";

describe("transportClass", () => {
  it("classes direct pairs by their ICE protocol", () => {
    expect(transportClass({ local: "host", remote: "host", protocol: "udp" })).toBe("udp");
    expect(transportClass({ local: "srflx", remote: "host", protocol: "udp" })).toBe("udp");
    expect(transportClass({ local: "host", remote: "host", protocol: "tcp" })).toBe("tcp");
    // a prflx pair over TCP is still direct: no TURN server carries it
    expect(transportClass({ local: "prflx", remote: "host", protocol: "tcp" })).toBe("tcp");
  });

  it("classes a local relay candidate by how it reaches TURN, not by the relayed leg", () => {
    // TURN allocations relay over UDP to the SFU whatever the client's leg is: the firewall sees the leg
    expect(transportClass({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tls" })).toBe(
      "turn-tls",
    );
    expect(transportClass({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tcp" })).toBe(
      "turn-tcp",
    );
    expect(transportClass({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "udp" })).toBe(
      "turn-udp",
    );
  });

  it("reads a relay without a relay protocol as TURN over UDP, the protocol's default", () => {
    expect(transportClass({ local: "relay", remote: "host", protocol: "udp" })).toBe("turn-udp");
  });

  it("names only classes in the label's value set", () => {
    const seen = new Set(
      (["host", "srflx", "prflx", "relay"] as const).flatMap((local) =>
        (["udp", "tcp"] as const).flatMap((protocol) =>
          ([undefined, "udp", "tcp", "tls"] as const).map((relayProtocol) =>
            transportClass({
              local,
              remote: "host",
              protocol,
              ...(relayProtocol !== undefined ? { relayProtocol } : {}),
            }),
          ),
        ),
      ),
    );
    expect([...seen].sort()).toEqual([...transportClasses].sort());
  });
});

describe("TransportWatch", () => {
  it("tells the first selection with its ICE time, then only changes, without it", () => {
    const events: TransportEvent[] = [];
    const watch = new TransportWatch((e) => events.push(e));
    expect(watch.current()).toBeUndefined();
    watch.note(undefined, 0.2);
    watch.note({ local: "host", remote: "host", protocol: "tcp" }, 0.31);
    watch.note({ local: "host", remote: "host", protocol: "tcp" });
    watch.note({ local: "relay", remote: "host", protocol: "udp", relayProtocol: "tls" }, 9);
    expect(events).toEqual([
      { type: "transport", transport: "tcp", local: "host", remote: "host", protocol: "tcp", iceS: 0.31 },
      {
        type: "transport",
        transport: "turn-tls",
        local: "relay",
        remote: "host",
        protocol: "udp",
        relayProtocol: "tls",
      },
    ]);
    expect(watch.current()).toBe("turn-tls");
  });

  it("tells the pair a reconnect selected even when it is of the same kind, once, without an ICE time", () => {
    const events: TransportEvent[] = [];
    const watch = new TransportWatch((e) => events.push(e));
    const relay = { local: "relay", remote: "host", protocol: "udp", relayProtocol: "udp" } as const;
    watch.note(relay, 0.4);
    watch.reselect();
    // between the reconnect and the next pair read, the samples keep the last class
    expect(watch.current()).toBe("turn-udp");
    watch.note(undefined);
    watch.note(relay, 0.5);
    watch.note(relay);
    expect(events.map((e) => [e.transport, e.iceS])).toEqual([
      ["turn-udp", 0.4],
      ["turn-udp", undefined],
    ]);
  });
});
