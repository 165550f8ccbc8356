import { beforeAll } from "vitest";
import { leanMedia, type LeanMediaAddon } from "../src/native-media.js";

/**
 * The native media addon, built in the file's beforeAll: this machine has cc and node's headers
 * (scripts/setup), so a reason it did not build is a failure, not a skip.
 */
export function nativeAddon(): () => LeanMediaAddon {
  let addon: LeanMediaAddon | string = "not built yet";
  beforeAll(async () => {
    addon = await leanMedia();
    if (typeof addon === "string") throw new Error(`the native media path did not build: ${addon}`);
  }, 60_000);
  return () => addon as LeanMediaAddon;
}
