import {
  createClientNetworks,
  reachableNodeConfig,
  removeClientNetworks,
  type ClientNetwork,
} from "./client-network.js";
import { requireRoot } from "./netns.js";
import { pickFreePort } from "./ports.js";
import { Testbed, type TestbedOptions } from "./testbed.js";

/** The port of the `turns:` URL in LiveKit's join response, whatever `turn.tls_port` says. */
const TURNS_PORT = 443;

/** A testbed that clients behind restrictive profiles reach, and those clients' networks. */
export interface ClientTestbed {
  readonly testbed: Testbed;
  readonly networks: readonly ClientNetwork[];
  /** The signalling URL every client uses, on the host and in every namespace. */
  readonly url: string;
  /** The address the node advertises for media (the host end of the first client veth). */
  readonly mediaHost: string;
  /** The UDP port of each node's built-in TURN, in node order; empty with TURN off. */
  readonly turnUdpPorts: readonly number[];
  /**
   * TURN over TLS on a one-node testbed with TURN on: the node's TLS port, which the `udp-blocked`
   * and `tcp-only` namespaces reach on 443 (the port of the join response's `turns:` URL), and the
   * pin of its self-signed certificate (what a browser participant trusts). Undefined otherwise.
   */
  readonly turnTls: { readonly port: number; readonly spki: string } | undefined;
  /** Stops the testbed, then removes the namespaces; tolerant of parts already gone. */
  stop(): Promise<void>;
}

/**
 * Client namespaces for `profiles` and a testbed they can all reach (reachableNodeConfig), made
 * together because each needs the other: `tcp-only` and `turn-only` let out the testbed's signalling
 * port (and `turn-only` each node's TURN port, picked here first even with TURN off, so that the
 * profile is the same firewall either way), and the nodes (and with several, the balancer in front
 * of them) bind the veths' host address. Several nodes share that address on ports of their own. A
 * failure half way removes what was made.
 */
export async function startClientTestbed(
  profiles: readonly ClientNetwork["profile"][],
  options: Omit<TestbedOptions, "port" | "serverConfig" | "netns" | "turn" | "balancerHosts"> & {
    /** LiveKit's built-in TURN: over UDP on every node, and over TLS too on a one-node testbed. */
    readonly turn?: boolean;
  } = {},
): Promise<ClientTestbed> {
  requireRoot("client network profiles");
  const port = await pickFreePort();
  const turnUdpPorts: number[] = [];
  for (let i = 0; i < (options.nodes ?? 1); i++) turnUdpPorts.push(await pickFreePort());
  const tlsPort = options.turn === true && (options.nodes ?? 1) === 1 ? await pickFreePort() : undefined;
  // every namespace routes to the host end of the first veth: the address the node binds, known
  // once the subnet is picked; the namespaces' redirects to it are written with it
  const networks = createClientNetworks(
    profiles.map((profile) => ({
      profile,
      ...(profile === "tcp-only" || profile === "turn-only"
        ? { allowedTcpPorts: profile === "tcp-only" && tlsPort !== undefined ? [port, tlsPort] : [port] }
        : {}),
      ...(profile === "turn-only" ? { allowedUdpPorts: turnUdpPorts } : {}),
    })),
    tlsPort === undefined
      ? undefined
      : (first, profile) =>
          profile === "udp-blocked" || profile === "tcp-only"
            ? [{ port: TURNS_PORT, to: first.hostIp, toPort: tlsPort }]
            : [],
  );
  const mediaHost = networks[0]?.hostIp;
  try {
    if (mediaHost === undefined) throw new Error("startClientTestbed needs at least one restrictive profile");
    const { turn, ...rest } = options;
    const testbed = await Testbed.start({
      ...rest,
      ...(turn === true ? { turn: { udpPorts: turnUdpPorts } } : {}),
      ...(tlsPort !== undefined ? { turnTls: { port: tlsPort } } : {}),
      port,
      balancerHosts: [mediaHost],
      serverConfig: reachableNodeConfig(
        mediaHost,
        networks.map((n) => n.hostInterface),
      ),
    });
    return {
      testbed,
      networks,
      url: `ws://${mediaHost}:${port}`,
      mediaHost,
      turnUdpPorts: turn === true ? turnUdpPorts : [],
      turnTls: testbed.turnTls,
      stop: async () => {
        try {
          await testbed.stop();
        } finally {
          removeClientNetworks(networks);
        }
      },
    };
  } catch (err) {
    removeClientNetworks(networks);
    throw err;
  }
}
