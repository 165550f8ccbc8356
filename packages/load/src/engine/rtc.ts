import { createRequire } from "node:module";

type RtcModule = typeof import("@livekit/rtc-node");
let loaded: Promise<RtcModule> | undefined;

/**
 * Loads @livekit/rtc-node with the FFI's log capture off. rtc-node 1.1 hard-codes capture on, which
 * turns every libwebrtc debug record into a JS event: -14% CPU and 27 -> 18 MiB RSS per participant
 * when off (docs/engine-costs.md, rule 1). Its FfiClient reads `livekitInitialize`
 * off the bindings' exports when the first Room is made, so wrapping the export before that point is
 * enough.
 */
export function loadRtc(): Promise<RtcModule> {
  loaded ??= (async () => {
    // rtc-node's pino logger takes its level once, at load: debug (each connect logged) unless
    // NODE_ENV is production, which vitest's "test" is not
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = "production";
    try {
      // resolved with require, not import.meta.resolve, which vitest's module runner lacks
      const requireFromRtc = createRequire(createRequire(import.meta.url).resolve("@livekit/rtc-node"));
      const bindings = requireFromRtc("@livekit/rtc-ffi-bindings") as {
        livekitInitialize: (cb: (data: Uint8Array) => void, captureLogs: boolean, sdkVersion: string) => void;
      };
      const initialize = bindings.livekitInitialize;
      bindings.livekitInitialize = (cb, _captureLogs, sdkVersion) => {
        initialize(cb, false, sdkVersion);
      };
      return await import("@livekit/rtc-node");
    } finally {
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
    }
  })();
  return loaded;
}
