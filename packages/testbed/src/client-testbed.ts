import {
  createClientNetworks,
  reachableNodeConfig,
  removeClientNetworks,
  type ClientNetwork,
} from "./client-network.js";
import { requireRoot } from "./netns.js";
import { pickFreePort } from "./ports.js";
import { Testbed, type TestbedOptions } from "./testbed.js";

/** A one-node testbed that clients behind restrictive profiles reach, and those clients' networks. */
export interface ClientTestbed {
  readonly testbed: Testbed;
  readonly networks: readonly ClientNetwork[];
  /** The signalling URL every client uses, on the host and in every namespace. */
  readonly url: string;
  /** The address the node advertises for media (the host end of the first client veth). */
  readonly mediaHost: string;
  /** The UDP port of the node's built-in TURN; undefined with TURN off. */
  readonly turnUdpPort: number | undefined;
  /** Stops the testbed, then removes the namespaces; tolerant of parts already gone. */
  stop(): Promise<void>;
}

/**
 * Client namespaces for `profiles` and a one-node testbed they can all reach (reachableNodeConfig),
 * made together because each needs the other: `tcp-only` and `turn-only` let out the testbed's
 * signalling port (and `turn-only` its TURN port, picked here first even with TURN off, so that the
 * profile is the same firewall either way), and the node binds the veths' host address. A failure
 * half way removes what was made.
 */
export async function startClientTestbed(
  profiles: readonly ClientNetwork["profile"][],
  options: Omit<TestbedOptions, "port" | "serverConfig" | "nodes" | "netns" | "turn"> & {
    /** LiveKit's built-in TURN over UDP on the node. */
    readonly turn?: boolean;
  } = {},
): Promise<ClientTestbed> {
  requireRoot("client network profiles");
  const port = await pickFreePort();
  const turnUdpPort = await pickFreePort();
  const networks = createClientNetworks(
    profiles.map((profile) => ({
      profile,
      ...(profile === "tcp-only" || profile === "turn-only" ? { allowedTcpPorts: [port] } : {}),
      ...(profile === "turn-only" ? { allowedUdpPorts: [turnUdpPort] } : {}),
    })),
  );
  const mediaHost = networks[0]?.hostIp;
  try {
    if (mediaHost === undefined) throw new Error("startClientTestbed needs at least one restrictive profile");
    const { turn, ...rest } = options;
    const testbed = await Testbed.start({
      ...rest,
      ...(turn === true ? { turn: { udpPort: turnUdpPort } } : {}),
      port,
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
      turnUdpPort: turn === true ? turnUdpPort : undefined,
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
