import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { livekitNodeConfig, type NodeAddressing } from "./configs.js";

const addressing: NodeAddressing = {
  ip: "127.0.0.1",
  iface: "lo",
  httpPort: 7880,
  rtcTcpPort: 7881,
  rtcUdpPort: 7882,
  prometheusPort: 7883,
};
const keys = { apiKey: "APIkey", apiSecret: "secret" };
const config = (a: NodeAddressing, overrides?: Record<string, unknown>): Record<string, unknown> =>
  parse(livekitNodeConfig({ addressing: a, ...keys, ...(overrides ? { overrides } : {}) })) as Record<
    string,
    unknown
  >;

describe("livekitNodeConfig with TURN", () => {
  it("has no turn section without a TURN port", () => {
    expect(config(addressing).turn).toBeUndefined();
  });

  it("runs TURN on UDP only, relaying to the node's own address and nothing else, listening there alone", () => {
    expect(config({ ...addressing, turnUdpPort: 3478 }).turn).toEqual({
      enabled: true,
      domain: "turn.lkswarm.test",
      udp_port: 3478,
      tls_port: 0,
      allow_restricted_peer_cidrs: ["127.0.0.1/32"],
      bind_addresses: ["127.0.0.1"],
    });
  });

  it("adds a TLS listener with its certificate when given one", () => {
    const turnTls = {
      port: 5349,
      certFile: "/run/tb/turn-tls/turn.crt",
      keyFile: "/run/tb/turn-tls/turn.key",
    };
    expect(config({ ...addressing, turnUdpPort: 3478, turnTls }).turn).toMatchObject({
      udp_port: 3478,
      tls_port: 5349,
      cert_file: "/run/tb/turn-tls/turn.crt",
      key_file: "/run/tb/turn-tls/turn.key",
    });
  });

  it("allows the advertised media address when a config moves it (rtc.node_ip)", () => {
    const turn = config({ ...addressing, turnUdpPort: 3478 }, { rtc: { node_ip: "10.201.9.5" } }).turn;
    expect(turn).toMatchObject({ allow_restricted_peer_cidrs: ["10.201.9.5/32"] });
  });

  it("refuses debug logging with TURN on: the node log would hold TURN credentials", () => {
    for (const level of ["debug", "trace"]) {
      expect(() => config({ ...addressing, turnUdpPort: 3478 }, { logging: { level } })).toThrow(
        `logging.level ${level} with TURN on would write TURN credentials to the node logs`,
      );
    }
    expect(config(addressing, { logging: { level: "debug" } }).logging).toMatchObject({ level: "debug" });
    expect(config({ ...addressing, turnUdpPort: 3478 }, { logging: { level: "warn" } }).turn).toBeDefined();
  });
});
