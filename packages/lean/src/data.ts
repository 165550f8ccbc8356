import { DataPacket, DataPacket_Kind, UserPacket } from "@livekit/protocol";

/**
 * The label LiveKit's client SDKs give the publisher PeerConnection's ordered data channel;
 * livekit-server v1.13.5 reads the user packets a participant publishes from the channel of that
 * label (pkg/rtc/transport.go, ReliableDataChannel) and forwards them on each other participant's
 * subscriber PeerConnection, on the channel of the same label it opened there.
 */
export const RELIABLE_LABEL = "_reliable";

/** The topic a swarm's data packets go under (the native engine's publishData uses the same). */
export const DATA_TOPIC = "lkswarm";

/** A reliable user packet carrying `payload` under `topic`, as a client SDK's publishData writes it. */
export function userPacket(payload: Uint8Array, topic = DATA_TOPIC): Uint8Array {
  return new DataPacket({
    kind: DataPacket_Kind.RELIABLE,
    value: { case: "user", value: new UserPacket({ payload, topic }) },
  }).toBinary();
}

/**
 * Whether a message on a data channel is a user packet (another participant's publishData), the
 * only kind the native engine counts as received (rtc-node's DataReceived). Anything else the
 * server sends there (a text message, a packet of another kind, bytes that do not parse) is not.
 */
export function isUserPacket(message: string | Uint8Array): boolean {
  if (typeof message === "string") return false;
  try {
    return DataPacket.fromBinary(message).value.case === "user";
  } catch {
    return false;
  }
}
