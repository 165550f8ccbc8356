import { formatValue, type ProgressView } from "@livekit-swarm/load";

function progressLine(p: ProgressView): string {
  const clock =
    p.totalMs > 1e12
      ? `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s]`
      : `[${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s / ${(p.totalMs / 1000).toFixed(0)} s]`;
  const eta =
    p.phase === "ramp" ? `, ramp ETA ${Math.max(0, (p.rampMs - p.elapsedMs) / 1000).toFixed(0)} s` : "";
  return (
    `${clock} ${p.phase}${eta}: ` +
    `${p.joined}/${p.planned} joined, ${p.connected} connected, ${p.reconnecting > 0 ? `${p.reconnecting} reconnecting, ` : ""}${p.failed} failed; ` +
    `loss p95 ${formatValue(p.lossP95, "ratio")}, jitter p95 ${formatValue(p.jitterP95S, "s")}, in ${formatValue(p.bitrateInBps, "bps")}`
  );
}

/**
 * stderr during a run: on a terminal one progress line rewritten in place, elsewhere a plain line
 * every 5 s; a log line never lands in the middle of the progress line.
 */
export class Terminal {
  private readonly tty = process.stderr.isTTY;
  private lineOpen = false;
  private lastPlainMs = 0;

  readonly log = (line: string): void => {
    this.end();
    process.stderr.write(`${line}\n`);
  };

  readonly progress = (p: ProgressView): void => {
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
      this.lineOpen = true;
    } else if (p.elapsedMs - this.lastPlainMs >= 5000) {
      this.lastPlainMs = p.elapsedMs;
      this.log(progressLine(p));
    }
  };

  /** Closes the progress line, if one is open. */
  end(): void {
    if (!this.lineOpen) return;
    process.stderr.write("\n");
    this.lineOpen = false;
  }
}
