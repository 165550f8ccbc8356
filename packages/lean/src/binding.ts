import { createHmac, timingSafeEqual } from "node:crypto";
import type { RemoteInfo, Socket } from "node:dgram";
import { crc32 } from "node:zlib";
import type { RTCPeerConnection } from "werift";
import { tapSocket, udpSockets } from "./socket-tap.js";

/**
 * LiveKit's ICE agent (pion) sends a binding request on each selected pair every 2 s as a
 * keepalive (counted on loopback: 10 a second for 20 PeerConnections). werift answers each through
 * its whole STUN stack (a parse into attribute objects, a debug log whose arguments it builds
 * either way, the check list, a message built attribute by attribute), a fifth of an idle lean
 * worker's profile, and keeps every request's transaction id in a set on the pair that is never
 * pruned (18 of 18 after 30 s, so about 300,000 per PeerConnection in a week's soak). A request on
 * the selected pair is answered here instead, as werift would answer it (XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY with the local password, FINGERPRINT; RFC 8445 7.3, RFC 5389), once its
 * USERNAME names the local ufrag and its MESSAGE-INTEGRITY checks out with the local password
 * (werift's handler checks neither). Left to werift: a request on another pair (connectivity
 * checks before and after an ICE restart), one that nominates (USE-CANDIDATE) or claims our role (a
 * role conflict, RFC 8445 7.3.1.1: the server controls the subscriber PeerConnection, which we
 * answer, and is controlled on the publisher one, which we offer), one for an older ufrag, an
 * unchecked or malformed one, and IPv6.
 */

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_BYTES = 20;
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const USERNAME = 0x0006;
export const MESSAGE_INTEGRITY = 0x0008;
const XOR_MAPPED_ADDRESS = 0x0020;
const USE_CANDIDATE = 0x0025;
const FINGERPRINT = 0x8028;
export const ICE_CONTROLLED = 0x8029;
export const ICE_CONTROLLING = 0x802a;
const FINGERPRINT_XOR = 0x5354554e;
export const HMAC_BYTES = 20;
/** MESSAGE-INTEGRITY and FINGERPRINT with their attribute headers. */
export const STUN_TRAILER_BYTES = 4 + HMAC_BYTES + 8;

/** The part of a request an answer needs, or undefined when werift should handle it. */
interface BindingRequest {
  readonly transactionId: Buffer;
}

/**
 * The request in `data` when it is a binding request this responder answers: USERNAME
 * `<ufrag>:<remote ufrag>`, MESSAGE-INTEGRITY valid for `password`, no USE-CANDIDATE, and no
 * claim to our ICE role (ICE-CONTROLLING when we are `controlling`, ICE-CONTROLLED when not);
 * undefined otherwise. Pure, for tests.
 */
export function keepaliveRequest(
  data: Buffer,
  ufrag: string,
  password: string,
  controlling: boolean,
): BindingRequest | undefined {
  if (data.length < HEADER_BYTES || data.readUInt16BE(0) !== BINDING_REQUEST) return undefined;
  if (data.readUInt32BE(4) !== MAGIC_COOKIE || HEADER_BYTES + data.readUInt16BE(2) !== data.length)
    return undefined;
  let usernameOk = false;
  let integrity = -1;
  for (let at = HEADER_BYTES; at < data.length;) {
    if (at + 4 > data.length) return undefined;
    const type = data.readUInt16BE(at);
    const length = data.readUInt16BE(at + 2);
    const value = at + 4;
    if (value + length > data.length) return undefined;
    if (integrity >= 0 && type !== FINGERPRINT) return undefined; // only FINGERPRINT may follow it
    if (type === USE_CANDIDATE || type === (controlling ? ICE_CONTROLLING : ICE_CONTROLLED)) return undefined;
    if (type === USERNAME) {
      const name = data.toString("utf8", value, value + length);
      usernameOk = name.length > ufrag.length && name.startsWith(ufrag) && name[ufrag.length] === ":";
    } else if (type === MESSAGE_INTEGRITY) {
      if (length !== HMAC_BYTES) return undefined;
      integrity = at;
    }
    at = value + length + ((4 - (length % 4)) % 4);
  }
  if (!usernameOk || integrity < 0 || !stunIntegrityHolds(data, integrity, password)) return undefined;
  return { transactionId: data.subarray(8, HEADER_BYTES) };
}

/** The short-term credential HMAC of a STUN message's first bytes (RFC 5389 15.4): SHA-1 keyed with the password. */
export function stunHmac(signed: Buffer, password: string): Buffer {
  return createHmac("sha1", password).update(signed).digest();
}

/**
 * Whether the MESSAGE-INTEGRITY attribute at `integrityAt` in `data` (20 bytes long, checked by
 * the caller) is the HMAC of the message before it with `password`.
 */
export function stunIntegrityHolds(data: Buffer, integrityAt: number, password: string): boolean {
  if (integrityAt + 4 + HMAC_BYTES > data.length) return false;
  // the HMAC covers the message up to the attribute, its header length counting up to the attribute's end
  const signed = Buffer.from(data.subarray(0, integrityAt));
  signed.writeUInt16BE(integrityAt + 4 + HMAC_BYTES - HEADER_BYTES, 2);
  return timingSafeEqual(
    stunHmac(signed, password),
    data.subarray(integrityAt + 4, integrityAt + 4 + HMAC_BYTES),
  );
}

/**
 * The success response to `request` from IPv4 `address`:`port`: XOR-MAPPED-ADDRESS,
 * MESSAGE-INTEGRITY with `password`, FINGERPRINT (64 bytes). Pure, for tests.
 */
export function bindingSuccess(
  request: BindingRequest,
  address: string,
  port: number,
  password: string,
): Buffer {
  const octets = address.split(".").map(Number);
  const response = Buffer.alloc(64);
  response.writeUInt16BE(BINDING_SUCCESS, 0);
  response.writeUInt32BE(MAGIC_COOKIE, 4);
  request.transactionId.copy(response, 8);
  response.writeUInt16BE(XOR_MAPPED_ADDRESS, 20);
  response.writeUInt16BE(8, 22);
  response[25] = 0x01; // IPv4
  response.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 26);
  response.writeUInt32BE(
    ((((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) ^
      MAGIC_COOKIE) >>>
      0,
    28,
  );
  signStun(response, 32, password);
  return response;
}

/**
 * Writes MESSAGE-INTEGRITY (with `password`) at `integrityAt` and FINGERPRINT after it, the last
 * STUN_TRAILER_BYTES of `message`, each with the header's length as RFC 5389 15.4 and 15.5 count it.
 */
export function signStun(message: Buffer, integrityAt: number, password: string): void {
  const fingerprintAt = integrityAt + 4 + HMAC_BYTES;
  // the HMAC covers the message up to its attribute, the header's length counting to the attribute's end
  message.writeUInt16BE(fingerprintAt - HEADER_BYTES, 2);
  message.writeUInt16BE(MESSAGE_INTEGRITY, integrityAt);
  message.writeUInt16BE(HMAC_BYTES, integrityAt + 2);
  stunHmac(message.subarray(0, integrityAt), password).copy(message, integrityAt + 4);
  message.writeUInt16BE(fingerprintAt + 8 - HEADER_BYTES, 2);
  message.writeUInt16BE(FINGERPRINT, fingerprintAt);
  message.writeUInt16BE(4, fingerprintAt + 2);
  message.writeUInt32BE(
    (crc32(message.subarray(0, fingerprintAt)) ^ FINGERPRINT_XOR) >>> 0,
    fingerprintAt + 4,
  );
}

/** werift's ICE connection and selected pair, as far as answering on it goes (private in its types). */
export interface IceConnection {
  readonly localUsername: string;
  readonly localPassword: string;
  /** The publisher PeerConnection offers, so it controls; the subscriber one is controlled. */
  readonly iceControlling: boolean;
  readonly nominated?: {
    readonly state: number;
    readonly remoteAddr: readonly [string, number];
    readonly protocol: { readonly transport: { readonly socket?: unknown } };
    requestsReceived: number;
    responsesSent: number;
  };
}
/** werift's CandidatePairState.SUCCEEDED. */
const PAIR_SUCCEEDED = 3;

/** Keepalive requests answered here, so a test can see the path is taken. */
export interface BindingCount {
  answered: number;
}

/** A taker for `socket` that answers keepalive requests on `connection`'s selected pair. */
function responder(socket: Socket, connection: IceConnection, count: BindingCount) {
  return (data: Buffer, from: RemoteInfo): boolean => {
    // a STUN message's first two bits are 0; a binding request's first byte is 0 and its second 1
    if (data[0] !== 0x00 || data[1] !== 0x01 || from.family !== "IPv4") return false;
    const pair = connection.nominated;
    if (
      pair === undefined ||
      pair.state !== PAIR_SUCCEEDED ||
      pair.protocol.transport.socket !== socket ||
      pair.remoteAddr[1] !== from.port ||
      pair.remoteAddr[0] !== from.address
    )
      return false;
    const request = keepaliveRequest(
      data,
      connection.localUsername,
      connection.localPassword,
      connection.iceControlling,
    );
    if (request === undefined) return false;
    try {
      socket.send(
        bindingSuccess(request, from.address, from.port, connection.localPassword),
        from.port,
        from.address,
      );
    } catch {
      // a socket closed under the pair throws at once (an exception here would end the worker):
      // werift's own answer fails the same way, quietly
      return false;
    }
    pair.requestsReceived++;
    pair.responsesSent++;
    count.answered++;
    return true;
  };
}

/** Answers the server's keepalives on `pc`'s selected pair from ICE connected on (see the top of this file). */
export function answerKeepalives(pc: RTCPeerConnection, count: BindingCount): void {
  const hooked = new WeakSet<Socket>();
  pc.iceConnectionStateChange.subscribe((state) => {
    if (state !== "connected" && state !== "completed") return;
    // one ICE transport under max-bundle; an ICE restart may gather sockets the tap has not seen
    for (const transport of pc.iceTransports) {
      const connection = transport.connection as unknown as IceConnection;
      for (const socket of udpSockets(connection)) {
        if (hooked.has(socket)) continue;
        hooked.add(socket);
        tapSocket(socket, responder(socket, connection, count));
      }
    }
  });
}
