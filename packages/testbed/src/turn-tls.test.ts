import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeTurnCertificate, spkiPin } from "./turn-tls.js";

describe("makeTurnCertificate", () => {
  it("makes a self-signed certificate for turn.lkswarm.test in a private folder, pinned as openssl pins it", () => {
    const runDir = mkdtempSync(join(tmpdir(), "lkswarm-turn-tls-"));
    const cert = makeTurnCertificate(runDir);
    const x509 = new X509Certificate(readFileSync(cert.certFile));
    expect(x509.subjectAltName).toBe("DNS:turn.lkswarm.test");
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(statSync(join(runDir, "turn-tls")).mode & 0o077).toBe(0);
    // the pin Chromium compares: base64 SHA-256 of the SubjectPublicKeyInfo, computed apart by openssl
    const der = execFileSync("openssl", ["x509", "-in", cert.certFile, "-pubkey", "-noout"]);
    const spki = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: der });
    const digest = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: spki }).toString(
      "base64",
    );
    expect(cert.spki).toBe(digest);
    expect(spkiPin(readFileSync(cert.certFile, "utf8"))).toBe(digest);
  });
});
