/**
 * A probe's first video packets and first frames, kept in order. Its first frame is timed exactly
 * (decoded pixels), its first packet by a stats poll every 250 ms (an upper bound), so the packet
 * could read later than the frame it belongs to. A decoded frame implies its packets arrived: when
 * the probe has decoded more tracks' first frames than it has recorded first packets, a first packet
 * is recorded at the frame's time (still an upper bound), and the next stream the poll finds with
 * packets is taken as that one, not recorded again. Events name no track, so this keeps the k-th
 * first packet no later than the k-th first frame; with one video track it is per track.
 */
export class VideoFirsts {
  private packets = 0;
  private frames = 0;
  /** First packets recorded for a frame that the poll has not matched to a stream yet. */
  private implied = 0;

  /** A stream's first packet seen by the poll: true to record it, false when a frame already did. */
  packetSeen(): boolean {
    if (this.implied > 0) {
      this.implied--;
      return false;
    }
    this.packets++;
    return true;
  }

  /** A track's exact first frame: true when a first packet must be recorded at the same time. */
  frameDecoded(): boolean {
    this.frames++;
    if (this.frames <= this.packets) return false;
    this.packets++;
    this.implied++;
    return true;
  }
}
