import { randomBytes } from "node:crypto";

/** 20261122-210509-ab12 (UTC): sortable, and unique enough to keep two runs' rooms apart. */
export function newRunId(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

/** Waits `ms`, or less if one of `stops` aborts (a Ctrl-C during a final scrape's wait). */
export function linger(ms: number, stops: readonly AbortSignal[]): Promise<void> {
  return new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    for (const stop of stops) {
      stop.addEventListener("abort", () => {
        clearTimeout(timer);
        done();
      });
    }
  });
}
