import { Socket, type RemoteInfo } from "node:dgram";

/**
 * Datagrams taken on werift's UDP sockets before werift sees them: received media past werift
 * (header-only.ts, video-bypass.ts) and the server's ICE keepalives answered here (binding.ts).
 * werift's UDP transport listens to its socket with one `message` listener; the tap puts one
 * listener in its place that offers each datagram to the takers in the order they were added,
 * and hands to werift's listener what none of them took.
 */

/** Takes a datagram (true) or leaves it to the next taker and then werift (false). */
export type DatagramTaker = (data: Buffer, from: RemoteInfo) => boolean;

const tapped = new WeakMap<Socket, DatagramTaker[]>();

/**
 * Puts `take` in front of werift's listener on `socket`; false when the socket does not have
 * werift's one listener (nothing is changed then). Adding the same taker twice is the caller's
 * to avoid.
 */
export function tapSocket(socket: Socket, take: DatagramTaker): boolean {
  const takers = tapped.get(socket);
  if (takers !== undefined) {
    takers.push(take);
    return true;
  }
  const listeners = socket.listeners("message") as ((data: Buffer, from: RemoteInfo) => void)[];
  const werift = listeners[0];
  if (listeners.length !== 1 || werift === undefined) return false;
  const list = [take];
  tapped.set(socket, list);
  socket.removeListener("message", werift);
  socket.on("message", (data: Buffer, from: RemoteInfo) => {
    for (const t of list) if (t(data, from)) return;
    werift.call(socket, data, from);
  });
  return true;
}

/** The UDP sockets of a werift ICE connection's protocols (werift keeps them private). */
export function udpSockets(connection: object): Socket[] {
  const protocols = (connection as { protocols?: unknown }).protocols;
  if (!Array.isArray(protocols)) return [];
  const sockets: Socket[] = [];
  for (const protocol of protocols as { transport?: { socket?: unknown } }[]) {
    const socket = protocol.transport?.socket;
    if (socket instanceof Socket) sockets.push(socket);
  }
  return sockets;
}
