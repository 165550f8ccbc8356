import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";

/**
 * The kernel's ephemeral port range. Ports picked inside it can be taken a moment later by any
 * client's outgoing socket (every rtc-node participant opens several), so we pick outside it.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return [49152, 65535];
}

/** Where testbed ports come from: the widest stretch of 10000-65535 outside the ephemeral range. */
export function pickableRange(): [number, number] {
  const [low, high] = ephemeralRange();
  const below: [number, number] = [10000, Math.min(low - 1, 65535)];
  const above: [number, number] = [Math.max(high + 1, 10000), 65535];
  return below[1] - below[0] >= above[1] - above[0] ? below : above;
}

/** Ports this process picked: free now, but maybe not yet bound by the server they were picked for. */
const handedOut = new Set<number>();

/**
 * A port free for both TCP and UDP on every interface (livekit-server's rtc.tcp_port binds all of
 * them whatever bind_addresses says), chosen at random outside the ephemeral range.
 */
export async function pickFreePort(): Promise<number> {
  const [from, to] = pickableRange();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if ((await isTcpPortFree(port, "0.0.0.0")) && (await isUdpPortFree(port, "0.0.0.0"))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${from}-${to} after 200 attempts`);
}

export async function isTcpPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

function isUdpPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.close(() => {
        resolve(true);
      });
    });
  });
}
