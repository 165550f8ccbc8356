/**
 * When a browser subscriber's audio from a publisher whose frames failed to decrypt decodes again.
 * livekit-client's E2EE worker drops a frame it cannot decrypt (it never reaches the decoder), so
 * while a cryptor fails, every sample Chromium plays out of that track is concealment: its
 * inbound-rtp `totalSamplesReceived` grows and `concealedSamples` with it. Samples that grow
 * without concealment were decoded from frames that decrypted. Pure: the page feeds it the stats.
 */

/** A remote audio track's playout counters (inbound-rtp), summed over its receivers. */
export interface AudioPlayout {
  readonly totalSamplesReceived: number;
  readonly concealedSamples: number;
}

/**
 * How long after a failure the first read is taken: frames decrypted before the failure may still
 * be in the jitter buffer (tens of ms, up to a few hundred on a loaded machine) and must not count.
 */
export const AUDIO_SETTLE_MS = 500;

/** How often a failing publisher's audio is read. */
export const AUDIO_WATCH_MS = 250;

/** At least two 20 ms Opus frames' worth of decoded samples at 48 kHz, not one stray frame. */
export const MIN_DECODED_SAMPLES = 1920;

/**
 * Whether the audio decoded again between two reads: at least MIN_DECODED_SAMPLES played that
 * were not concealment, and they are most of what played. A counter that went backwards (a new
 * receiver after a resubscription) says nothing.
 */
export function decodesAgain(before: AudioPlayout, after: AudioPlayout): boolean {
  const played = after.totalSamplesReceived - before.totalSamplesReceived;
  const concealed = after.concealedSamples - before.concealedSamples;
  if (played <= 0 || concealed < 0) return false;
  const decoded = played - concealed;
  return decoded >= MIN_DECODED_SAMPLES && decoded >= played / 2;
}

/** The playout counters of a report's inbound-rtp audio entries, summed; undefined without any. */
export function audioPlayout(entries: readonly Record<string, unknown>[]): AudioPlayout | undefined {
  let found = false;
  let totalSamplesReceived = 0;
  let concealedSamples = 0;
  for (const e of entries) {
    if (e.type !== "inbound-rtp" || e.kind !== "audio") continue;
    const total = e.totalSamplesReceived;
    const concealed = e.concealedSamples;
    if (typeof total !== "number" || typeof concealed !== "number") continue;
    found = true;
    totalSamplesReceived += total;
    concealedSamples += concealed;
  }
  return found ? { totalSamplesReceived, concealedSamples } : undefined;
}
