import { randomBytes } from "node:crypto";
import { SrtpSession } from "werift";

/**
 * Both ends of one werift SRTP session with random master keys, for `profile` (0x0001 AES-CM with
 * HMAC-SHA1-80, 0x0007 AES-GCM): what `sender` encrypts, `receiver` decrypts.
 */
export function srtpPair(profile: number): { sender: SrtpSession; receiver: SrtpSession } {
  const [key, salt] = profile === 0x0007 ? [16, 12] : [16, 14];
  const a = { key: randomBytes(key), salt: randomBytes(salt) };
  const b = { key: randomBytes(key), salt: randomBytes(salt) };
  const keys = (local: typeof a, remote: typeof a) => ({
    localMasterKey: local.key,
    localMasterSalt: local.salt,
    remoteMasterKey: remote.key,
    remoteMasterSalt: remote.salt,
  });
  return {
    sender: new SrtpSession({ keys: keys(a, b), profile }),
    receiver: new SrtpSession({ keys: keys(b, a), profile }),
  };
}
