/**
 * The native media path (LKSWARM_LEAN_NATIVE=1, tools/lean-media/lean-media.c) carrying lean audio
 * both ways on a real livekit-server: what lean.e2e holds the TypeScript path to, on the native
 * one. The publisher's packets are written by the native thread, and its socket and the four
 * subscribers' are read by it; each subscriber must count every packet the native thread says it
 * sent, with no loss and 50 a second, its jitter and round trip from the kernel's arrival times (not
 * the tick's wait), and werift's sender and receivers, whose reports LiveKit reads, must count them
 * too. That the native bytes are the TypeScript path's, packet for packet, is native-media.test.ts's.
 */
import { waitFor } from "@livekit-swarm/test-kit";
import { describe, expect, it } from "vitest";
import { LeanParticipant, loadedLeanMedia, opusLoop } from "../src/index.js";
import { joinRoom, leanBed, measureWindow } from "./join.js";

// read when a participant's audio starts (audio-track.ts): this file is its own process
process.env.LKSWARM_LEAN_NATIVE = "1";

const unique = (tag: string): string => `e2e-lean-native-${tag}-${process.pid}-${Date.now().toString(36)}`;

describe("lean audio on the native media path, against a real livekit-server", () => {
  const participants: LeanParticipant[] = [];
  const setup = leanBed(unique("one"), () => opusLoop(), participants);

  it("a native publisher is received by four lean subscribers with no loss, 50 packets a second, each counting what the native thread sent", async () => {
    const { testbed: bed, loop, hostAddress } = setup();
    const room = "lean-native-room";
    const join = async (identity: string, publish: boolean): Promise<LeanParticipant> => {
      const p = await joinRoom(bed, room, identity, publish, { loop, hostAddress });
      participants.push(p);
      return p;
    };
    const publisher = await join("pub", true);
    // the addon builds on first use (cc, about a second), off the pacer's tick
    await waitFor(
      async () => Promise.resolve(publisher.nativeAudio.on || publisher.nativeAudio.refused !== undefined),
      {
        timeoutMs: 30_000,
        debugName: () => `the native path taking the stream (${JSON.stringify(publisher.nativeAudio)})`,
      },
    );
    expect(publisher.nativeAudio).toMatchObject({ on: true, refused: undefined });
    const subscribers: LeanParticipant[] = [];
    for (let i = 0; i < 4; i++) subscribers.push(await join(`sub${i}`, false));
    await waitFor(async () => Promise.resolve(subscribers.every((s) => s.inboundTotals().size === 1)), {
      timeoutMs: 10_000,
      debugName: () =>
        `every subscriber receiving (${subscribers.map((s) => s.inboundTotals().size).join(",")})`,
    });

    const consentBefore = publisher.consentChecks.publisher;
    const before = loadedLeanMedia()?.stats();
    const { windows, sent, elapsedS } = await measureWindow(publisher, subscribers, 10_000);
    const after = loadedLeanMedia()?.stats();
    const senderReports = (after?.senderReports ?? 0) - (before?.senderReports ?? 0);
    const threadChecks = {
      requests: (after?.consentRequests ?? 0) - (before?.consentRequests ?? 0),
      answers: (after?.consentAnswers ?? 0) - (before?.consentAnswers ?? 0),
    };
    const sentPackets = sent.outbound[0]?.packets ?? 0;
    expect(sentPackets / elapsedS, `packets/s sent, ${JSON.stringify(sent)}`).toBeGreaterThan(40);
    expect(sentPackets / elapsedS, `packets/s sent, ${JSON.stringify(sent)}`).toBeLessThan(60);
    for (const [i, s] of subscribers.entries()) {
      const totals = [...s.inboundTotals().values()][0];
      const w = windows[i]?.inbound[0];
      const context = JSON.stringify({ totals, window: w, sentPackets, elapsedS });
      expect(totals?.lost, `lost packets, ${context}`).toBe(0);
      expect(w?.lost, `window loss, ${context}`).toBe(0);
      expect(w?.expected, context).toBe(w?.received);
      // the same stream counted at both ends over the same window: the subscriber's window opens
      // and closes a moment before the publisher's, so a packet or two in flight either side
      expect(
        Math.abs((w?.received ?? 0) - sentPackets),
        `sent against received, ${context}`,
      ).toBeLessThanOrEqual(5);
      // read by the native thread, all but the packets before it took the socket
      const native = s.nativeReceived;
      expect(native.refused, context).toBeUndefined();
      expect(native.packets, `${JSON.stringify(native)} ${context}`).toBeGreaterThan(
        (totals?.received ?? 0) - 100,
      );
      expect(native.packets, `${JSON.stringify(native)} ${context}`).toBeLessThanOrEqual(
        totals?.received ?? 0,
      );
      // the server's keepalives on the subscriber's selected pair (every 2 s) answered by the thread,
      // with binding.ts's bytes (native-keepalives.test.ts)
      expect(native.keepalives, `${JSON.stringify(native)} ${context}`).toBeGreaterThan(0);
      // on loopback the packets arrive 20 ms apart to within a millisecond or two: a jitter from
      // the tick's read time would be several ms; werift's receiver reports count them all
      expect(w?.jitterS ?? 1, context).toBeLessThan(0.004);
      const reported = await s.receiverReportPackets();
      expect(reported, `werift's receiver statistics, ${context}`).toBeGreaterThanOrEqual(
        totals?.received ?? 0,
      );
      expect(reported, `werift's receiver statistics, ${context}`).toBeLessThan((totals?.received ?? 0) + 10);
      // the round trip of the last consent answers, timed by the kernel's arrival: loopback's,
      // whatever the event loop was doing (the subscriber's and the publisher's pairs' median)
      const rttS = windows[i]?.rttS;
      expect(rttS, context).toBeDefined();
      expect(rttS ?? 1, context).toBeLessThan(0.005);
    }
    // werift's sender reads the native slot for its sender reports: read after ours
    const sentTotals = publisher.outboundTotals;
    const reported = await publisher.senderReportPackets();
    expect(reported, JSON.stringify(sentTotals)).toBeGreaterThanOrEqual(sentTotals.packets);
    expect(reported, JSON.stringify(sentTotals)).toBeLessThan(sentTotals.packets + 10);
    // and the thread sent those reports, werift's compound, 0.5-1.5 s apart (the publisher is the
    // process's only native sender; native-media.test.ts holds the bytes to werift's)
    expect(senderReports, `sender reports in ${String(elapsedS)} s`).toBeGreaterThanOrEqual(
      Math.floor(elapsedS / 1.5) - 1,
    );
    expect(senderReports, `sender reports in ${String(elapsedS)} s`).toBeLessThanOrEqual(
      Math.ceil(elapsedS / 0.5) + 1,
    );
    // the stream left the TypeScript writer at the handoff: it wrote only what went before
    expect(publisher.directSent.audio.packets).toBeLessThan(sentTotals.packets / 2);
    expect(publisher.nativeAudio.on).toBe(true);
    // an audio-only publisher's socket is read by the thread too: the server's keepalives on it
    // answered there, into the publisher's count
    expect(publisher.nativeAudio, JSON.stringify(publisher.nativeAudio)).toMatchObject({
      socketRead: true,
      socketEverRead: true,
      socketRefused: undefined,
    });
    expect(publisher.nativeAudio.keepalives, JSON.stringify(publisher.nativeAudio)).toBeGreaterThan(0);
    expect(publisher.keepalivesAnswered.publisher).toBeGreaterThanOrEqual(publisher.nativeAudio.keepalives);
    // and our consent checks went from the thread (native-consent.ts) on the sockets it reads, the
    // publisher's and the four subscribers', each at least once in 10 s (4-6 s apart), each
    // answered but those still in flight at the window's end; on the publisher's pair answered in
    // the window, timed by the kernel's arrival (never "busy"), and the publisher's window round
    // trip, the mean of its two pairs', loopback's: a tick's wait (up to 20 ms) would read several ms
    const consent = publisher.consentChecks.publisher;
    const context = JSON.stringify({ consentBefore, consent, threadChecks, rttS: sent.rttS });
    expect(threadChecks.requests, context).toBeGreaterThanOrEqual(1 + subscribers.length);
    expect(threadChecks.answers, context).toBeGreaterThanOrEqual(
      threadChecks.requests - 1 - subscribers.length,
    );
    expect(threadChecks.answers, context).toBeLessThanOrEqual(threadChecks.requests + 1 + subscribers.length);
    expect(consent.answers, context).toBeGreaterThan(consentBefore.answers);
    expect(consent.busy ?? 0, context).toBe(consentBefore.busy ?? 0);
    expect(consent.expired, context).toBe(0);
    expect(sent.rttS, context).toBeDefined();
    expect(sent.rttS ?? 1, context).toBeLessThan(0.005);
  }, 90_000);
});
