import { createServer } from "node:net";
import { createSocket } from "node:dgram";

/** Asks the kernel for a free TCP port on `host` that is also free for UDP (media ports need both). */
export async function pickFreePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, host, () => {
        const address = server.address();
        server.close(() => {
          if (address !== null && typeof address === "object") resolve(address.port);
          else reject(new Error("no port assigned"));
        });
      });
    });
    if (await isUdpPortFree(port, host)) return port;
  }
  throw new Error("could not find a free port after 20 attempts");
}

export async function isTcpPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, host, () => {
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
    socket.bind(port, host, () => {
      socket.close(() => {
        resolve(true);
      });
    });
  });
}

/** Picks `count` distinct free ports. */
export async function pickFreePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await pickFreePort(host));
  return [...ports];
}
