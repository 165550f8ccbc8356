import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { isIPv4 } from "node:net";
import type { ConfigTree } from "./configs.js";
import { TestbedError } from "./errors.js";
import {
  createNodeNetwork,
  deleteNodeNetwork,
  pickSubnetOctet,
  requireRoot,
  type NodeNetwork,
} from "./netns.js";

/**
 * Where a swarm participant's packets may go, as a firewall in front of a user decides:
 * - `open`: no namespace, the host's own network;
 * - `udp-blocked`: no UDP at all, so ICE must fall back to ICE/TCP or TURN over TCP/TLS;
 * - `tcp-only`: no UDP, and TCP only to the ports named (signalling, TURN/TLS), so only TURN over
 *   TCP or TLS can carry media (the restrictive corporate network of the self-hosting guides);
 * - `turn-only`: TCP to the signalling port and UDP to the TURN port only, so ICE can succeed only
 *   through LiveKit's built-in TURN relay over UDP.
 */
export type NetworkProfile = "open" | "udp-blocked" | "tcp-only" | "turn-only";
export const networkProfiles: readonly NetworkProfile[] = ["open", "udp-blocked", "tcp-only", "turn-only"];

/** Every client namespace's name starts with this, so a leftover check can find them. */
export const CLIENT_NAMESPACE_PREFIX = "lkc";
const PROFILE_TABLE = "lkswarm_profile";

/** Participants of one profile: a namespace joined to the host by a veth pair, its firewall inside. */
export interface ClientNetwork extends NodeNetwork {
  readonly profile: Exclude<NetworkProfile, "open">;
  /** TCP ports the `tcp-only` and `turn-only` profiles let out; empty for the others. */
  readonly allowedTcpPorts: readonly number[];
  /** UDP ports the `turn-only` profile lets out (the TURN port); empty for the others. */
  readonly allowedUdpPorts: readonly number[];
  /** Connections sent elsewhere inside the namespace (TURN/TLS's 443 to the node's TLS port). */
  readonly tcpRedirects: readonly TcpRedirect[];
}

/** New TCP connections to `port` go to `to`:`toPort` instead (a dnat in the namespace's own table). */
export interface TcpRedirect {
  readonly port: number;
  readonly to: string;
  readonly toPort: number;
}

/** The ports a restrictive profile lets out, besides replies to what it sent. */
export interface ProfilePorts {
  readonly allowedTcpPorts?: readonly number[];
  readonly allowedUdpPorts?: readonly number[];
  /** Applied before the firewall, which then sees the new port (let it out in allowedTcpPorts). */
  readonly tcpRedirects?: readonly TcpRedirect[];
}

/**
 * The firewall of a profile, as one nftables table inside the client's namespace: it goes with the
 * namespace, so nothing is left on the host. Established flows are let back in: a reply to an
 * allowed connection is not a new one.
 */
export function profileRules(
  profile: ClientNetwork["profile"],
  { allowedTcpPorts = [], allowedUdpPorts = [], tcpRedirects = [] }: ProfilePorts = {},
): string {
  const redirectPorts = tcpRedirects.flatMap((r) => [r.port, r.toPort]);
  for (const port of [...allowedTcpPorts, ...allowedUdpPorts, ...redirectPorts]) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new TestbedError("bad-option", `network profile ${profile}: port ${port} is not 1 to 65535`);
  }
  for (const { to } of tcpRedirects) {
    if (!isIPv4(to))
      throw new TestbedError(
        "bad-option",
        `network profile ${profile}: redirect to ${JSON.stringify(to)}: not an IPv4 address`,
      );
  }
  const allow = (proto: "tcp" | "udp", ports: readonly number[]): string[] =>
    ports.length > 0 ? [`${proto} dport { ${ports.join(", ")} } accept`] : [];
  // loopback inside the namespace stays open: it is the participant's own
  const [out, input] =
    profile === "udp-blocked"
      ? [["meta l4proto udp drop"], ["meta l4proto udp drop"]]
      : [
          [
            "ct state established,related accept",
            ...allow("tcp", allowedTcpPorts),
            ...allow("udp", allowedUdpPorts),
            "drop",
          ],
          ["ct state established,related accept", "drop"],
        ];
  const chain = (hook: "output" | "input", loopback: string, rules: readonly string[]): string =>
    [
      `  chain ${hook} {`,
      `    type filter hook ${hook} priority 0; policy accept;`,
      `    ${loopback} "lo" accept`,
      ...rules.map((r) => `    ${r}`),
      "  }",
    ].join("\n");
  const filter = `table inet ${PROFILE_TABLE} {\n${chain("output", "oif", out)}\n${chain("input", "iif", input)}\n}\n`;
  if (tcpRedirects.length === 0) return filter;
  // nat output runs before the filter's output hook (priority -100 < 0): the filter sees the new port
  const nat = [
    `table ip ${PROFILE_TABLE}_nat {`,
    "  chain output {",
    "    type nat hook output priority -100; policy accept;",
    ...tcpRedirects.map((r) => `    tcp dport ${r.port} dnat to ${r.to}:${r.toPort}`),
    "  }",
    "}",
  ].join("\n");
  return `${filter}${nat}\n`;
}

/**
 * Creates one namespace per restrictive profile, each with a default route to the host and its
 * firewall applied, and returns them; `remove` undoes it (also what a failure half way does).
 * `redirectsFor` adds redirects that name the host end of the first namespace's veth (where a
 * testbed for these clients listens), known only once the subnet is picked here.
 */
export function createClientNetworks(
  profiles: readonly ({ readonly profile: ClientNetwork["profile"] } & ProfilePorts)[],
  redirectsFor?: (first: { readonly hostIp: string }, profile: ClientNetwork["profile"]) => TcpRedirect[],
): ClientNetwork[] {
  if (profiles.length === 0) return [];
  requireRoot("client network profiles");
  const octet = pickSubnetOctet();
  const tag = randomBytes(2).toString("hex");
  const made: ClientNetwork[] = [];
  try {
    const first = { hostIp: hostIpOf(octet, 1) };
    profiles.forEach(
      ({ profile, allowedTcpPorts = [], allowedUdpPorts = [], tcpRedirects: given = [] }, i) => {
        const tcpRedirects = [...given, ...(redirectsFor?.(first, profile) ?? [])];
        const rules = profileRules(profile, { allowedTcpPorts, allowedUdpPorts, tcpRedirects });
        const index = i + 1;
        const net: ClientNetwork = {
          namespace: `${CLIENT_NAMESPACE_PREFIX}${tag}n${index}`,
          hostInterface: `${CLIENT_NAMESPACE_PREFIX}${tag}h${index}`,
          nodeInterface: `${CLIENT_NAMESPACE_PREFIX}${tag}v${index}`,
          hostIp: hostIpOf(octet, index),
          nodeIp: `10.201.${octet}.${index * 4 + 2}`,
          profile,
          allowedTcpPorts,
          allowedUdpPorts,
          tcpRedirects,
        };
        made.push(net);
        createNodeNetwork(net);
        run(["ip", "-n", net.namespace, "route", "add", "default", "via", net.hostIp]);
        run(["ip", "netns", "exec", net.namespace, "nft", "-f", "-"], rules);
      },
    );
  } catch (err) {
    removeClientNetworks(made);
    throw err;
  }
  return made;
}

/** The host end of client namespace `index`'s veth (1-based): a /30 each in 10.201.<octet>.0/24. */
function hostIpOf(octet: number, index: number): string {
  return `10.201.${octet}.${index * 4 + 1}`;
}

/** Removes the namespaces (their veths and firewalls go with them); tolerant of parts already gone. */
export function removeClientNetworks(
  networks: readonly Pick<NodeNetwork, "namespace" | "hostInterface">[],
): void {
  for (const net of networks) deleteNodeNetwork(net);
}

/** The profile's firewall (and its redirects, if any) as nftables lists it now, to confirm it by looking. */
export function profileListing(net: Pick<ClientNetwork, "namespace" | "tcpRedirects">): string {
  const filter = run(["ip", "netns", "exec", net.namespace, "nft", "list", "table", "inet", PROFILE_TABLE]);
  return net.tcpRedirects.length === 0
    ? filter
    : filter +
        run(["ip", "netns", "exec", net.namespace, "nft", "list", "table", "ip", `${PROFILE_TABLE}_nat`]);
}

/**
 * A testbed node config that client namespaces can reach: the node binds and advertises `ip`, an
 * address of the host that every client namespace routes to (the host end of the first one's veth;
 * the host reaches it as a local address), next to 127.0.0.1 for the signalling of host clients.
 * Media candidates are rewritten to `ip` (rtc.node_ip), so host and namespace clients share them.
 */
export function reachableNodeConfig(ip: string, hostInterfaces: readonly string[]): ConfigTree {
  return {
    bind_addresses: ["127.0.0.1", ip],
    rtc: {
      node_ip: ip,
      enable_loopback_candidate: false,
      interfaces: { includes: ["lo", ...hostInterfaces] },
      ips: { includes: [`${ip}/32`] },
    },
  };
}

function run(argv: readonly string[], input?: string): string {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("empty command");
  return execFileSync(cmd, args, {
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    ...(input !== undefined ? { input } : {}),
  });
}
