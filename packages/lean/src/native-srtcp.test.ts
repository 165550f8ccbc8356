import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RTCDtlsTransport, SrtcpSession } from "werift";
import { nativeAddon } from "../test/native-addon.js";
import { srtcpPair, srtcpTransport } from "../test/srtp.js";
import { srtcpByAddon, srtcpByAddonCounts } from "./native-srtcp.js";

const native = nativeAddon();

const GCM = 0x0007;
const AES_CM = 0x0001;

interface Cipher {
  readonly srtcpSessionKey: Buffer;
  readonly srtcpSessionSalt: Buffer;
  encryptRTCP: (this: Cipher, packet: Buffer, index: number) => Buffer;
  decryptRTCP: (
    this: Cipher,
    encrypted: Buffer,
  ) => [Buffer, { version: number; count: number; type: number; length: number }];
}

const cipherOf = (session: SrtcpSession, side: "localContext" | "remoteContext"): Cipher =>
  (session as unknown as Record<string, { cipher: Cipher }>)[side]?.cipher as Cipher;

/** A compound RTCP packet of `bytes` (a multiple of 4, >= 8): a header, a sender SSRC, random words. */
function rtcp(bytes: number, type = 201): Buffer {
  const p = randomBytes(bytes);
  p[0] = 0x81;
  p[1] = type;
  p.writeUInt16BE(bytes / 4 - 1, 2);
  return p;
}

describe("werift's SRTCP opened and sealed by the addon (native-srtcp.ts), werift's own methods the oracle", () => {
  const pair = srtcpPair(GCM);
  const sealer = cipherOf(pair.sender, "localContext");
  const opener = cipherOf(pair.receiver, "remoteContext");
  const proto = Object.getPrototypeOf(opener) as Cipher;
  // werift's, kept before the addon takes the class
  const encrypt = proto.encryptRTCP;
  const decrypt = proto.decryptRTCP;

  it("takes werift's GCM cipher class once, and no other profile", () => {
    expect(srtcpByAddon(native(), srtcpTransport(srtcpPair(AES_CM).receiver, AES_CM))).toBe(false);
    expect(srtcpByAddon(native(), { srtpStarted: false } as unknown as RTCDtlsTransport)).toBe(false);
    expect(srtcpByAddon(native(), undefined)).toBe(false);
    expect(srtcpByAddon(native(), srtcpTransport(pair.receiver, GCM))).toBe(true);
    expect(proto.decryptRTCP).not.toBe(decrypt);
    expect(proto.encryptRTCP).not.toBe(encrypt);
    const taken = proto.decryptRTCP;
    expect(srtcpByAddon(native(), srtcpTransport(pair.sender, GCM))).toBe(true);
    expect(proto.decryptRTCP).toBe(taken);
  });

  it("seals and opens werift's bytes: sizes from the bare header to the addon's largest, indices to 2^31 - 1", () => {
    srtcpByAddon(native(), srtcpTransport(pair.receiver, GCM));
    for (const bytes of [8, 12, 32, 52, 96, 400, 1400])
      for (const index of [0, 1, 77, 0x7ffffffe, 0x7fffffff]) {
        const packet = rtcp(bytes, 200 + (bytes % 8));
        const { opened: openedBefore, sealed: sealedBefore } = srtcpByAddonCounts;
        const sealed = sealer.encryptRTCP(packet, index);
        expect(sealed.equals(encrypt.call(sealer, packet, index))).toBe(true);
        const [plain, header] = opener.decryptRTCP(sealed);
        // werift's own methods reached the addon, once each (a fallback would not count)
        expect(srtcpByAddonCounts).toEqual({ opened: openedBefore + 1, sealed: sealedBefore + 1 });
        const [werift, weriftHeader] = decrypt.call(opener, sealed);
        expect(plain.equals(werift)).toBe(true);
        expect(plain.equals(packet)).toBe(true);
        expect(header).toEqual(weriftHeader);
        // the addon's own, not werift's by the fallback
        const opened = native().openRtcp(opener.srtcpSessionKey, opener.srtcpSessionSalt, sealed);
        expect(opened?.equals(werift)).toBe(true);
        expect(
          native().sealRtcp(sealer.srtcpSessionKey, sealer.srtcpSessionSalt, packet, index).equals(sealed),
        ).toBe(true);
      }
  });

  it("leaves to werift what the addon does not take, which then fails or succeeds as it did", () => {
    srtcpByAddon(native(), srtcpTransport(pair.receiver, GCM));
    const packet = rtcp(52);
    const sealed = sealer.encryptRTCP(packet, 9);
    const failure = (f: () => unknown): string => {
      try {
        f();
        return "no error";
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
    };
    const counted = { ...srtcpByAddonCounts };
    // a bit flipped in the sealed body, in the tag, in the clear header (the associated data)
    for (const at of [12, sealed.length - 6, 5]) {
      const bad = Buffer.from(sealed);
      bad[at] = (bad[at] ?? 0) ^ 1;
      expect(failure(() => opener.decryptRTCP(bad))).toBe(failure(() => decrypt.call(opener, bad)));
      expect(failure(() => opener.decryptRTCP(bad))).toMatch(/SrtpAuthenticationError/);
      expect(native().openRtcp(opener.srtcpSessionKey, opener.srtcpSessionSalt, bad)).toBeUndefined();
    }
    // the E flag cleared: werift's unencrypted form, not the addon's
    const clear = Buffer.from(sealed);
    clear[clear.length - 4] = (clear[clear.length - 4] ?? 0) & 0x7f;
    expect(failure(() => opener.decryptRTCP(clear))).toBe(failure(() => decrypt.call(opener, clear)));
    // too short to be SRTCP
    for (const short of [sealed.subarray(0, 27), Buffer.alloc(0)])
      expect(failure(() => opener.decryptRTCP(short))).toBe(failure(() => decrypt.call(opener, short)));
    // too long for the addon to seal: werift seals it, and the addon opens it
    const long = rtcp(1600);
    const sealedLong = sealer.encryptRTCP(long, 3);
    expect(sealedLong.equals(encrypt.call(sealer, long, 3))).toBe(true);
    // none of these went through the addon
    expect(srtcpByAddonCounts).toEqual(counted);
    expect(opener.decryptRTCP(sealedLong)[0].equals(long)).toBe(true);
    expect(srtcpByAddonCounts).toEqual({ opened: counted.opened + 1, sealed: counted.sealed });
  });
});
