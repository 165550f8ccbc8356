import { createCipheriv, createDecipheriv, createSecretKey, type Cipher, type KeyObject } from "node:crypto";
import type { SrtpSession } from "werift";

/**
 * SRTP with AEAD_AES_128_GCM (RFC 7714), the profile werift and LiveKit negotiate, done here for
 * the packets lean writes and reads past werift (direct-send.ts, header-only.ts) with the keys and
 * per-SSRC rollover state of werift's own SRTP session.
 */

export const PROFILE_AEAD_AES_128_GCM = 0x0007;

/** werift's per-SSRC SRTP state and how it advances it (private in its types). */
export interface SrtpState {
  rolloverCounter: number;
}
/** One direction of werift's SRTP session (private in its types). */
export interface SrtpContext {
  readonly profile: number;
  readonly srtpSessionKey: Buffer;
  readonly srtpSessionSalt: Buffer;
  getSrtpSsrcState(ssrc: number): SrtpState;
  updateRolloverCount(sequenceNumber: number, state: SrtpState): void;
}

/** The context werift encrypts with ("local") or decrypts with ("remote"). */
export function srtpContextOf(session: SrtpSession, side: "local" | "remote"): SrtpContext | undefined {
  const s = session as unknown as { localContext?: SrtpContext; remoteContext?: SrtpContext };
  return side === "local" ? s.localContext : s.remoteContext;
}

/**
 * The rollover counter of `ssrc`'s packet `sequenceNumber`, advancing werift's state for it as
 * werift's own encryption and decryption do, so werift's next packet of the SSRC agrees.
 */
export function rolloverCounter(context: SrtpContext, ssrc: number, sequenceNumber: number): number {
  const state = context.getSrtpSsrcState(ssrc);
  context.updateRolloverCount(sequenceNumber, state);
  return state.rolloverCounter;
}

/**
 * Whether a packet that bypasses werift must still go into werift's rollover state for its SSRC,
 * so that a packet werift decrypts later meets the right counter. werift moves the counter only
 * when the last sequence number it saw and the new one sit within 100 of the wrap (one on each
 * side), and keeps nothing else of the last one: feeding it every packet within 128 of the wrap
 * and one in 256 elsewhere leaves its counter where feeding every packet would, for about one
 * packet in 50 (unit-tested against werift over wraps, loss and reordering).
 */
export function rolloverMatters(sequenceNumber: number): boolean {
  return sequenceNumber < 128 || sequenceNumber > 0xffff - 128 || (sequenceNumber & 0xff) === 0;
}

/** Checks a session key and salt and keeps the salt's 12 bytes GCM uses. */
function gcmKeys(sessionKey: Buffer, sessionSalt: Buffer): { key: KeyObject; salt: Buffer } {
  if (sessionKey.length !== 16 || sessionSalt.length < 12)
    throw new RangeError(
      `AES-128-GCM wants a 16-byte key and a 12-byte salt (got ${sessionKey.length} and ${sessionSalt.length})`,
    );
  return { key: createSecretKey(sessionKey), salt: Buffer.from(sessionSalt.subarray(0, 12)) };
}

/**
 * Writes a packet's IV into `iv`: the salt XOR 00 00 | SSRC | ROC | SEQ (RFC 7714 section 8.1),
 * SSRC and SEQ read from the RTP header at the start of `packet`.
 */
function rtpIv(iv: Buffer, salt: Buffer, packet: Buffer, rolloverCounter: number): Buffer {
  iv.writeUInt16BE(0, 0);
  packet.copy(iv, 2, 8, 12);
  iv.writeUInt32BE(rolloverCounter >>> 0, 6);
  packet.copy(iv, 10, 2, 4);
  for (let i = 0; i < 12; i++) iv[i] = (iv[i] ?? 0) ^ (salt[i] ?? 0);
  return iv;
}

/** SRTP with AEAD_AES_128_GCM (RFC 7714) for one direction's session key and salt. */
export class GcmRtpSealer {
  private readonly key: KeyObject;
  private readonly salt: Buffer;
  private readonly iv = Buffer.alloc(12);

  /** `sessionSalt`: werift derives 14 bytes, as for AES-CM; GCM's IV takes the first 12. */
  constructor(sessionKey: Buffer, sessionSalt: Buffer) {
    ({ key: this.key, salt: this.salt } = gcmKeys(sessionKey, sessionSalt));
  }

  /**
   * The encrypted payload and its tag for a packet with this `header` (authenticated, sent in
   * clear), whose SSRC's rollover counter is `rolloverCounter`.
   */
  seal(header: Buffer, payload: Buffer, rolloverCounter: number): [Buffer, Buffer] {
    const cipher = createCipheriv(
      "aes-128-gcm",
      this.key,
      rtpIv(this.iv, this.salt, header, rolloverCounter),
    );
    cipher.setAAD(header);
    const sealed = cipher.update(payload);
    cipher.final();
    return [sealed, cipher.getAuthTag()];
  }
}

/** The receiving side of an AES-GCM SRTP session: werift's context and one opener for its keys. */
export interface GcmReceiving {
  readonly context: SrtpContext;
  readonly opener: GcmPayloadOpener;
}

const receiving = new WeakMap<SrtpSession, GcmReceiving | null>();

/**
 * The receiving side of `session`, made once per session (a new DTLS handshake brings a new
 * session and new keys); undefined when it is not AES-GCM.
 */
export function gcmReceiving(session: SrtpSession): GcmReceiving | undefined {
  let r = receiving.get(session);
  if (r === undefined) {
    const context = srtpContextOf(session, "remote");
    r =
      context?.profile === PROFILE_AEAD_AES_128_GCM
        ? { context, opener: new GcmPayloadOpener(context.srtpSessionKey, context.srtpSessionSalt) }
        : null;
    receiving.set(session, r);
  }
  return r ?? undefined;
}

/** How many payload bytes `GcmPayloadOpener.open` decrypts with its one reused cipher; more take a cipher of their own. */
export const OPEN_PREFIX_BYTES = 64;

/**
 * The first bytes of an AES-GCM SRTP packet's payload in clear, neither authenticated nor
 * decrypted beyond them. GCM encrypts with AES in counter mode (NIST SP 800-38D): with a 12-byte
 * IV, payload block i is XORed with AES(key, IV | i + 2), so a prefix costs one AES block per 16
 * bytes, where werift's decryption makes a cipher object, authenticates the whole packet (GHASH)
 * and decrypts all of it. What that gives up is what header-only.ts says: a forged or damaged
 * packet is read as it came.
 */
export class GcmPayloadOpener {
  private readonly key: KeyObject;
  private readonly salt: Buffer;
  private readonly iv = Buffer.alloc(12);
  /** Counter blocks for a prefix, and AES in ECB mode to turn them into keystream. */
  private readonly counters = Buffer.alloc(OPEN_PREFIX_BYTES);
  private readonly blocks: Cipher;

  constructor(sessionKey: Buffer, sessionSalt: Buffer) {
    ({ key: this.key, salt: this.salt } = gcmKeys(sessionKey, sessionSalt));
    this.blocks = createCipheriv("aes-128-ecb", this.key, null);
    this.blocks.setAutoPadding(false);
  }

  /**
   * The payload's first `bytes` (at most what follows `headerBytes` in `packet`, tag excluded by
   * the caller), decrypted, for a packet whose SSRC's rollover counter is `rolloverCounter`.
   */
  open(packet: Buffer, headerBytes: number, bytes: number, rolloverCounter: number): Buffer {
    const iv = rtpIv(this.iv, this.salt, packet, rolloverCounter);
    const encrypted = packet.subarray(headerBytes, headerBytes + bytes);
    if (encrypted.length > OPEN_PREFIX_BYTES) {
      const counter = Buffer.alloc(16);
      iv.copy(counter);
      counter.writeUInt32BE(2, 12);
      return createDecipheriv("aes-128-ctr", this.key, counter).update(encrypted);
    }
    const blockCount = Math.ceil(encrypted.length / 16);
    const { counters } = this;
    for (let i = 0; i < blockCount; i++) {
      iv.copy(counters, 16 * i);
      counters.writeUInt32BE(i + 2, 16 * i + 12);
    }
    const keystream = this.blocks.update(counters.subarray(0, 16 * blockCount));
    const clear = Buffer.allocUnsafe(encrypted.length);
    for (let i = 0; i < clear.length; i++) clear[i] = (encrypted[i] ?? 0) ^ (keystream[i] ?? 0);
    return clear;
  }
}
