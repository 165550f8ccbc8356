import { RtcpHeader, type RTCDtlsTransport } from "werift";
import type { LeanMediaAddon } from "./native-media.js";
import { PROFILE_AEAD_AES_128_GCM } from "./srtp-gcm.js";

/**
 * werift's SRTCP with AEAD_AES_128_GCM opened and sealed by the native addon (lean-media.c
 * open_rtcp and seal_rtcp, issue 51) once the process is on the native media path: every RTCP
 * packet JavaScript still handles (werift's sender reports before the thread takes them over,
 * native-audio.ts, and its video senders'; the server's RTCP the thread does not take itself,
 * lean-media.c take_rtcp: to a publisher that sends video, and a subscriber's sender reports when it
 * receives video too) is one Node-API call, where werift
 * makes a cipher object, its IV and associated data and four Buffers per packet: about a tenth of
 * a 30-room audio worker's JavaScript thread, by perf (bench/results.md). werift's own methods stay
 * the oracle (native-srtcp.test.ts compares the bytes) and the fallback: a packet the addon does
 * not take (unencrypted, too short, not authentic, too long to seal) goes to them, and they say
 * why, as they did.
 */

/** werift's AES-128-GCM cipher (private in its types). */
interface GcmCipher {
  readonly aeadAuthTagLen: number;
  readonly srtcpSessionKey: Buffer;
  readonly srtcpSessionSalt: Buffer;
  encryptRTCP: (this: GcmCipher, rtcpPacket: Buffer, srtcpIndex: number) => Buffer;
  decryptRTCP: (this: GcmCipher, encrypted: Buffer) => [Buffer, RtcpHeader];
}

/** The longest compound packet the addon seals (lean-media.c's MAX_PAYLOAD). */
const SEAL_MAX_BYTES = 1400;

const taken = new WeakSet<object>();

/** The SRTCP packets the addon opened and sealed in this process (workers.log's native path line). */
export const srtcpByAddonCounts = { opened: 0, sealed: 0 };

/** The GCM cipher werift opens the transport's SRTCP with, if that is its profile. */
function gcmCipherOf(transport: RTCDtlsTransport | undefined): GcmCipher | undefined {
  // a sender not bound to a transport yet has none
  if (transport?.srtpStarted !== true || transport.srtp.config.profile !== PROFILE_AEAD_AES_128_GCM)
    return undefined;
  const cipher = (transport.srtcp as unknown as { remoteContext?: { cipher?: GcmCipher } } | undefined)
    ?.remoteContext?.cipher;
  return cipher?.aeadAuthTagLen === 16 ? cipher : undefined;
}

/**
 * Has the addon open and seal SRTCP for werift's GCM cipher class (the transport's), once per
 * process: every transport of the process uses the class. False when the transport's SRTCP is not
 * AES-128-GCM or werift's cipher is not where lean looks for it (werift changed).
 */
export function srtcpByAddon(addon: LeanMediaAddon, transport: RTCDtlsTransport | undefined): boolean {
  const cipher = gcmCipherOf(transport);
  if (cipher === undefined) return false;
  const proto = Object.getPrototypeOf(cipher) as GcmCipher | null;
  if (proto === null) return false;
  if (taken.has(proto)) return true;
  const decrypt = proto.decryptRTCP;
  const encrypt = proto.encryptRTCP;
  if (typeof decrypt !== "function" || typeof encrypt !== "function") return false;
  proto.decryptRTCP = function (this: GcmCipher, encrypted: Buffer): [Buffer, RtcpHeader] {
    const plain =
      this.srtcpSessionKey.length === 16 && this.srtcpSessionSalt.length >= 12
        ? addon.openRtcp(this.srtcpSessionKey, this.srtcpSessionSalt, encrypted)
        : undefined;
    if (plain === undefined) return decrypt.call(this, encrypted);
    srtcpByAddonCounts.opened++;
    // werift's header is the packet's first four bytes, which SRTCP leaves in the clear
    return [plain, RtcpHeader.deSerialize(encrypted.subarray(0, 4))];
  };
  proto.encryptRTCP = function (this: GcmCipher, rtcpPacket: Buffer, srtcpIndex: number): Buffer {
    if (
      this.srtcpSessionKey.length !== 16 ||
      this.srtcpSessionSalt.length < 12 ||
      rtcpPacket.length < 8 ||
      rtcpPacket.length > SEAL_MAX_BYTES ||
      !Number.isInteger(srtcpIndex) ||
      srtcpIndex < 0 ||
      srtcpIndex > 0x7fffffff
    )
      return encrypt.call(this, rtcpPacket, srtcpIndex);
    const sealed = addon.sealRtcp(this.srtcpSessionKey, this.srtcpSessionSalt, rtcpPacket, srtcpIndex);
    srtcpByAddonCounts.sealed++;
    return sealed;
  };
  taken.add(proto);
  return true;
}

/**
 * takeRtcp's bits (lean-media.c take_rtcp): the server's sender reports of streams whose receiver
 * reports the thread sends.
 */
export const TAKE_SENDER_REPORTS = 1;
/**
 * takeRtcp's bits: the server's receiver reports and XR to an audio-only publisher (lean reads
 * neither figure werift takes from them).
 */
export const TAKE_PUBLISHER_FEEDBACK = 2;

/**
 * Has the thread take the server's RTCP on socket `id` that `takes` names, opened with the
 * transport's remote SRTCP key (werift's, as it stands now); false, and nothing taken, when the
 * transport's SRTCP is not AES-128-GCM.
 */
export function takeRtcp(
  addon: LeanMediaAddon,
  id: number,
  transport: RTCDtlsTransport,
  takes: number,
): boolean {
  const cipher = gcmCipherOf(transport);
  if (cipher === undefined || cipher.srtcpSessionKey.length !== 16 || cipher.srtcpSessionSalt.length < 12) {
    addon.takeRtcp(id, 0);
    return false;
  }
  addon.takeRtcp(id, takes, cipher.srtcpSessionKey, cipher.srtcpSessionSalt);
  return true;
}
