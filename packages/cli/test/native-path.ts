import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";

/**
 * A run of lean with LKSWARM_LEAN_NATIVE=1 carried every audio publisher and every audio receiver
 * on the native media path: each worker's closing line in workers.log (packages/load's
 * nativePathLine) says N of N, with packets, that its thread sent the receivers' reports, the
 * publishers' sender reports and the consent checks, answered the server's keepalives and took the server's RTCP; with
 * `publishersSocketsRead` (audio-only publishers), that it read every publisher's socket, else
 * none. The build line the CLI prints says only that the addon compiled; a participant that fell
 * back to the TypeScript path reads the same figures.
 */
export function expectNativePathCarriedAll(
  out: string,
  { publishersSocketsRead = false }: { readonly publishersSocketsRead?: boolean } = {},
): void {
  const log = readFileSync(join(out, "workers.log"), "utf8");
  const lines = log.split("\n").filter((l) => l.startsWith("lean native media path:"));
  expect(lines.length, `workers.log has no native media path line:\n${log.slice(-2000)}`).toBeGreaterThan(0);
  for (const line of lines) {
    const m =
      /(\d+) of (\d+) audio publishers sent ([\d,]+) packets on it(?:, (\d+) of them with their sockets read by it)?; (\d+) of (\d+) audio receivers read ([\d,]+) on it/.exec(
        line,
      );
    expect(m, line).not.toBeNull();
    const [, sending, publishers, , socketsRead, reading, receivers] = m ?? [];
    expect(sending, line).toBe(publishers);
    // an audio-only publisher's socket is read by the thread too (native-audio.ts); one that sends
    // video beside it is not
    if (Number(publishers) > 0)
      expect(socketsRead, line).toBe(publishersSocketsRead ? publishers : undefined);
    expect(reading, line).toBe(receivers);
    expect(Number(publishers) + Number(receivers), line).toBeGreaterThan(0);
    // the receivers' reports went from the thread too (native-reports.ts), it checked consent on
    // their sockets (native-consent.ts) and answered the server's keepalives there
    // (native-keepalives.ts)
    if (Number(receivers) > 0) {
      expect(line, line).toMatch(
        /; its thread sent [\d,]+ receiver reports(?:, [\d,]+ sender reports)? and [\d,]+ consent checks \([\d,]+ answered\), and answered [\d,]+ keepalives/,
      );
      const [, checks, answered] = (/ ([\d,]+) consent checks \(([\d,]+) answered\)/.exec(line) ?? []).map(
        (n) => Number(n.replaceAll(",", "")),
      );
      // each pair's check answered but the last few, which the run's end may have cut short
      expect(answered ?? 0, line).toBeGreaterThan(0);
      expect(answered ?? 0, line).toBeLessThanOrEqual(checks ?? 0);
    }
    // and the publishers' sender reports (native-audio.ts), which werift's report clock sent before
    // ("not carried" names a publisher whose reports the thread refused, below)
    if (Number(publishers) > 0) {
      const sent = /; its thread sent (?:[\d,]+ receiver reports(?:,| and) )?([\d,]+) sender reports/.exec(
        line,
      );
      expect(sent, line).not.toBeNull();
      expect(Number((sent?.[1] ?? "0").replaceAll(",", "")), line).toBeGreaterThan(0);
    }
    // in an audio-only run the thread took the server's RTCP itself (lean-media.c take_rtcp): its
    // sender reports to the receivers, its receiver reports and XR to the publishers. With video
    // in the room LiveKit puts a subscriber's video sender reports in the same compound as its
    // audio ones, and the thread leaves such a compound to werift whole
    if (publishersSocketsRead) {
      const taken = /; it took ([\d,]+) of the server's RTCP packets, ([\d,]+) with sender reports/.exec(
        line,
      );
      expect(taken, line).not.toBeNull();
      const [, all, srs] = (taken ?? []).map((n) => Number(n.replaceAll(",", "")));
      // the publishers' receiver reports and XR, and the receivers' sender reports: both kinds
      if (Number(receivers) > 0) expect(srs ?? 0, line).toBeGreaterThan(0);
      if (Number(publishers) > 0) expect(all ?? 0, line).toBeGreaterThan(srs ?? 0);
    }
    // what werift still seals goes through the addon (native-srtcp.ts): with video in the room, its
    // video senders' reports at least; in an audio-only run the thread sends and takes nearly all
    // the RTCP, so those counts may be 0 there
    if (!publishersSocketsRead)
      expect(line, line).toMatch(/; the addon opened [\d,]+ SRTCP packets and sealed [1-9][\d,]*/);
    expect(line, line).not.toContain("not carried");
  }
}
