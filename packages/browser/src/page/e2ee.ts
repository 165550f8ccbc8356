/// <reference lib="dom" />
/**
 * The page's end-to-end encryption: the shared key derived as the native engine derives it, and a
 * cryptor error's state in the native engine's words.
 */
import { BaseKeyProvider } from "livekit-client";
import type { PageE2ee } from "../protocol.js";

/**
 * A shared key given as bytes, derived as the native engine's is: rtc-node (libwebrtc's frame
 * cryptor) takes the shared key's bytes as PBKDF2 key material, where livekit-client's
 * ExternalE2EEKeyProvider takes a string's UTF-8 (PBKDF2) or a buffer as HKDF material, which
 * rtc-node would not match. ExternalE2EEKeyProvider also pins the ratchet window to 0 and the
 * failure tolerance to -1, so the scenario's could not be kept: this provider takes them as given.
 */
export class SharedKeyProvider extends BaseKeyProvider {
  constructor(options: PageE2ee) {
    super({
      sharedKey: true,
      ratchetWindowSize: options.ratchetWindowSize,
      failureTolerance: options.failureTolerance,
    });
  }

  async setKeyBytes(key: readonly number[]): Promise<void> {
    const material = await crypto.subtle.importKey("raw", new Uint8Array(key), { name: "PBKDF2" }, false, [
      "deriveBits",
      "deriveKey",
    ]);
    this.onSetEncryptionKey(material);
  }
}

/** A cryptor error's state in the native engine's words (CryptorErrorReason is the message's first word). */
export function cryptorState(error: Error): "decryption_failed" | "missing_key" | "internal_error" {
  if (error.message.startsWith("InvalidKey")) return "decryption_failed";
  if (error.message.startsWith("MissingKey")) return "missing_key";
  return "internal_error";
}
