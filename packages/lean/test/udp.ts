import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { afterEach } from "vitest";

/**
 * Loopback UDP sockets for a test file, closed after each test: call at the file's top level, and
 * `bound()` gives a socket bound to 127.0.0.1 on a free port.
 */
export function loopbackSockets(): () => Promise<Socket> {
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  return async () => {
    const socket = createSocket("udp4");
    sockets.push(socket);
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    return socket;
  };
}

/** An SRTP datagram of Opus as header-only reads it: a 12-byte header, 80 payload bytes, a 16-byte tag. */
export function opusDatagram(seq: number, ts: number, ssrc: number): Buffer {
  const packet = Buffer.alloc(12 + 80 + 16);
  packet[0] = 0x80;
  packet[1] = 111;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(ts, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

/** The next datagram `socket` receives, or undefined after `ms`. */
export async function nextDatagram(socket: Socket, ms = 500): Promise<Buffer | undefined> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(resolve, ms));
  const got = once(socket, "message").then(([data]) => data as Buffer);
  return Promise.race([got, timeout]);
}

/** Waits until `done()` holds or `ms` passed, whichever is first; what follows asserts. */
export async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
