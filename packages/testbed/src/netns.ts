import { execFileSync } from "node:child_process";
import { TestbedError } from "./errors.js";

/** One node's own network: a namespace joined to the host by a veth pair on a /30. */
export interface NodeNetwork {
  readonly namespace: string;
  readonly hostInterface: string;
  readonly nodeInterface: string;
  readonly hostIp: string;
  readonly nodeIp: string;
}

function ip(args: readonly string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new TestbedError(
      "needs-root",
      `${what} needs root (network namespaces): run as root or drop --netns`,
    );
  }
}

/**
 * Picks a third octet for 10.201.X.0/24 that no interface on this host uses yet, so two testbeds
 * (or a stale one) never share addresses.
 */
export function pickSubnetOctet(): number {
  const used = ip(["-o", "-4", "addr", "show"]);
  const start = Math.floor(Math.random() * 250);
  for (let i = 0; i < 250; i++) {
    const octet = ((start + i) % 250) + 1;
    if (!used.includes(`10.201.${octet}.`)) return octet;
  }
  throw new TestbedError(
    "bad-option",
    "no free 10.201.X.0/24 subnet left for network namespaces: run `swarm testbed down --all`",
  );
}

export function nodeNetwork(tag: string, index: number, octet: number): NodeNetwork {
  return {
    namespace: `lks${tag}n${index}`,
    hostInterface: `lks${tag}h${index}`,
    nodeInterface: `lks${tag}v${index}`,
    hostIp: `10.201.${octet}.${index * 4 + 1}`,
    nodeIp: `10.201.${octet}.${index * 4 + 2}`,
  };
}

export function createNodeNetwork(net: NodeNetwork): void {
  ip(["netns", "add", net.namespace]);
  ip([
    "link",
    "add",
    net.hostInterface,
    "type",
    "veth",
    "peer",
    "name",
    net.nodeInterface,
    "netns",
    net.namespace,
  ]);
  ip(["addr", "add", `${net.hostIp}/30`, "dev", net.hostInterface]);
  ip(["link", "set", net.hostInterface, "up"]);
  ip(["-n", net.namespace, "addr", "add", `${net.nodeIp}/30`, "dev", net.nodeInterface]);
  ip(["-n", net.namespace, "link", "set", net.nodeInterface, "up"]);
  ip(["-n", net.namespace, "link", "set", "lo", "up"]);
}

/** Removes the namespace (which removes its veth pair); tolerant of parts already gone. */
export function deleteNodeNetwork(net: Pick<NodeNetwork, "namespace" | "hostInterface">): void {
  try {
    ip(["netns", "del", net.namespace]);
  } catch {
    // already gone
  }
  try {
    ip(["link", "del", net.hostInterface]);
  } catch {
    // removed together with the namespace
  }
}

export function namespaceExists(name: string): boolean {
  try {
    return ip(["netns", "list"])
      .split("\n")
      .some((line) => line.split(" ")[0] === name);
  } catch {
    return false;
  }
}
