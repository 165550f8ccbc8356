import { createHash, X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findBinary } from "./binaries.js";
import { TURN_DOMAIN } from "./configs.js";

/** The certificate the testbed's TURN/TLS listener presents, and how a client can pin it. */
export interface TurnCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /**
   * base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo: what Chromium's
   * `--ignore-certificate-errors-spki-list` takes, so that a browser trusts this key and no other.
   */
  readonly spki: string;
}

/**
 * A self-signed certificate for TURN_DOMAIN, made for one testbed in its run directory (a day's
 * validity; the key never leaves the directory, which is the owner's only). Self-signed on purpose:
 * nothing a real client trusts, so a browser is told to trust exactly this key (spki) and rtc-node,
 * which checks TURN/TLS against the roots built into libwebrtc, cannot use it (docs/transport.md).
 */
export function makeTurnCertificate(runDir: string): TurnCertificate {
  const dir = join(runDir, "turn-tls");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, "turn.crt");
  const keyFile = join(dir, "turn.key");
  execFileSync(
    findBinary("openssl"),
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${TURN_DOMAIN}`,
      "-addext",
      `subjectAltName=DNS:${TURN_DOMAIN}`,
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return { certFile, keyFile, spki: spkiPin(readFileSync(certFile, "utf8")) };
}

/** base64(SHA-256(SubjectPublicKeyInfo DER)) of a PEM certificate. */
export function spkiPin(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
