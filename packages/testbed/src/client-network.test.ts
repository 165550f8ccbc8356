import { describe, expect, it } from "vitest";
import { profileRules, reachableNodeConfig } from "./client-network.js";

describe("profileRules", () => {
  it("udp-blocked drops UDP both ways and nothing else", () => {
    const rules = profileRules("udp-blocked");
    expect(rules.match(/meta l4proto udp drop/g)).toHaveLength(2);
    expect(rules).not.toContain("tcp dport");
    expect(rules).not.toMatch(/^\s+drop$/m);
  });

  it("tcp-only lets out TCP to the named ports only, and replies back in", () => {
    const rules = profileRules("tcp-only", { allowedTcpPorts: [7880, 5349] });
    expect(rules).toContain("tcp dport { 7880, 5349 } accept");
    expect(rules.match(/ct state established,related accept/g)).toHaveLength(2);
    expect(rules.match(/^\s+drop$/gm)).toHaveLength(2);
    // the namespace's own loopback stays open
    expect(rules).toContain('oif "lo" accept');
    expect(rules).toContain('iif "lo" accept');
  });

  it("turn-only lets out the signalling port over TCP and the TURN port over UDP, nothing else", () => {
    const rules = profileRules("turn-only", { allowedTcpPorts: [7880], allowedUdpPorts: [3478] });
    expect(rules).toContain("tcp dport { 7880 } accept");
    expect(rules).toContain("udp dport { 3478 } accept");
    expect(rules).not.toContain("meta l4proto udp drop");
    expect(rules.match(/^\s+drop$/gm)).toHaveLength(2);
  });

  it("sends a port elsewhere before the firewall sees it (TURN/TLS's 443 to the node's TLS port)", () => {
    const rules = profileRules("tcp-only", {
      allowedTcpPorts: [7880, 5349],
      tcpRedirects: [{ port: 443, to: "10.201.7.5", toPort: 5349 }],
    });
    expect(rules).toContain("table ip lkswarm_profile_nat {");
    expect(rules).toContain("type nat hook output priority -100; policy accept;");
    expect(rules).toContain("tcp dport 443 dnat to 10.201.7.5:5349");
    // the filter lets out the port it is sent to, not 443
    expect(rules).toContain("tcp dport { 7880, 5349 } accept");
    expect(profileRules("tcp-only", { allowedTcpPorts: [7880] })).not.toContain("nat");
    expect(() =>
      profileRules("tcp-only", {
        tcpRedirects: [{ port: 443, to: "10.201.7.5; flush ruleset", toPort: 5349 }],
      }),
    ).toThrow("not an IPv4 address");
    expect(() =>
      profileRules("tcp-only", { tcpRedirects: [{ port: 443, to: "10.201.7.5", toPort: 0 }] }),
    ).toThrow("port 0 is not 1 to 65535");
  });

  it("refuses a port outside 1 to 65535, naming it", () => {
    expect(() => profileRules("tcp-only", { allowedTcpPorts: [0] })).toThrow(
      "network profile tcp-only: port 0 is not 1 to 65535",
    );
    expect(() => profileRules("turn-only", { allowedUdpPorts: [70000] })).toThrow("port 70000");
  });
});

describe("reachableNodeConfig", () => {
  it("binds and advertises the address client namespaces route to, beside loopback signalling", () => {
    expect(reachableNodeConfig("10.201.7.5", ["lkcabcdh1"])).toEqual({
      bind_addresses: ["127.0.0.1", "10.201.7.5"],
      rtc: {
        node_ip: "10.201.7.5",
        enable_loopback_candidate: false,
        interfaces: { includes: ["lo", "lkcabcdh1"] },
        ips: { includes: ["10.201.7.5/32"] },
      },
    });
  });
});
