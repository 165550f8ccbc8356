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
  /** Stops the testbed, then removes the namespaces; tolerant of parts already gone. */
  stop(): Promise<void>;
}

/**
 * Client namespaces for `profiles` and a one-node testbed they can all reach (reachableNodeConfig),
 * made together because each needs the other: `tcp-only` lets out the testbed's signalling port,
 * and the node binds the veths' host address. A failure half way removes what was made.
 */
export async function startClientTestbed(
  profiles: readonly ClientNetwork["profile"][],
  options: Omit<TestbedOptions, "port" | "serverConfig" | "nodes" | "netns"> = {},
): Promise<ClientTestbed> {
  requireRoot("client network profiles");
  const port = await pickFreePort();
  const networks = createClientNetworks(
    profiles.map((profile) => ({
      profile,
      ...(profile === "tcp-only" ? { allowedTcpPorts: [port] } : {}),
    })),
  );
  const mediaHost = networks[0]?.hostIp;
  try {
    if (mediaHost === undefined) throw new Error("startClientTestbed needs at least one restrictive profile");
    const testbed = await Testbed.start({
      ...options,
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
