import { randomBytes } from "node:crypto";
import { SrtcpSession, SrtpSession, type RTCDtlsTransport } from "werift";

/**
 * Both ends of one werift SRTP session with random master keys, for `profile` (0x0001 AES-CM with
 * HMAC-SHA1-80, 0x0007 AES-GCM): what `sender` encrypts, `receiver` decrypts.
 */
export function srtpPair(profile: number): { sender: SrtpSession; receiver: SrtpSession } {
  return sessionPair(profile, (config) => new SrtpSession(config));
}

/** The same for SRTCP: what `sender` encrypts, `receiver` decrypts. */
export function srtcpPair(profile: number): { sender: SrtcpSession; receiver: SrtcpSession } {
  return sessionPair(profile, (config) => new SrtcpSession(config));
}

type SessionConfig = ConstructorParameters<typeof SrtpSession>[0];

function sessionPair<T>(profile: number, make: (config: SessionConfig) => T): { sender: T; receiver: T } {
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
    sender: make({ keys: keys(a, b), profile }),
    receiver: make({ keys: keys(b, a), profile }),
  };
}

/**
 * werift's DTLS transport as the SRTCP paths read it: started, SRTP profile `profile` (AES-GCM
 * unless said), `srtcp` its SRTCP session, nothing sent yet.
 */
export function srtcpTransport(srtcp: unknown, profile = 0x0007): RTCDtlsTransport {
  return {
    srtpStarted: true,
    srtp: { config: { profile } },
    srtcp,
    packetsSent: 0,
    bytesSent: 0,
  } as unknown as RTCDtlsTransport;
}
