import { describe, expect, it } from "vitest";
import { namedStreams, nativePathLine, type NativePathUse } from "./lean.js";

describe("lean's received streams as a drill's watch sees them", () => {
  it("names each stream `<publisher>/<kind>` and leaves out one whose publisher the signalling has not named", () => {
    const participant = {
      receivedTracks: () => [
        { key: "ssrc:1", kind: "audio" as const, packetsReceived: 50, publisher: "pub-0" },
        { key: "ssrc:2", kind: "video" as const, packetsReceived: 900, publisher: "pub-0" },
        { key: "ssrc:3", kind: "audio" as const, packetsReceived: 4, publisher: undefined },
      ],
    };
    expect(namedStreams(participant)).toEqual([
      { key: "ssrc:1", kind: "audio", packetsReceived: 50, track: "pub-0/audio" },
      { key: "ssrc:2", kind: "video", packetsReceived: 900, track: "pub-0/video" },
    ]);
  });
});

describe("the native media path's closing line", () => {
  const use = (over: Partial<NativePathUse>): NativePathUse => ({
    publishedAudio: false,
    sent: 0,
    sendRefused: undefined,
    receivedAudio: false,
    received: 0,
    receiveRefused: undefined,
    ...over,
  });

  it("counts the publishers and receivers it carried, and says why for those it did not", () => {
    expect(
      nativePathLine([
        use({ publishedAudio: true, sent: 1500 }),
        use({ publishedAudio: true, sendRefused: "the pair is not a UDP socket" }),
        use({ receivedAudio: true, received: 1200 }),
        use({ receivedAudio: true, received: 1300 }),
        use({ receivedAudio: true, receiveRefused: "the remote ::1 is not an IPv4 address" }),
        use({ receivedAudio: true, receiveRefused: "the remote ::1 is not an IPv4 address" }),
      ]),
    ).toBe(
      "lean native media path: 1 of 2 audio publishers sent 1,500 packets on it; 2 of 4 audio receivers read 2,500 on it; " +
        "not carried: sending: the pair is not a UDP socket; receiving: the remote ::1 is not an IPv4 address",
    );
  });

  it("says how many publishers had their sockets read by the thread, and why not where it was refused", () => {
    expect(
      nativePathLine([
        use({ publishedAudio: true, sent: 1500, socketRead: true }),
        use({ publishedAudio: true, sent: 1400, socketRead: true }),
        use({ publishedAudio: true, sent: 1300, socketRefused: "the thread reads the socket already" }),
        use({ publishedAudio: true, sent: 1200 }),
      ]),
    ).toBe(
      "lean native media path: 4 of 4 audio publishers sent 5,400 packets on it, 2 of them with their sockets read by it; " +
        "0 of 0 audio receivers read 0 on it; not carried: a publisher's socket: the thread reads the socket already",
    );
  });

  it("says how many receiver reports the thread sent and keepalives it answered, and why it sent no reports for a receiver", () => {
    expect(
      nativePathLine(
        [
          use({ receivedAudio: true, received: 1200 }),
          use({
            receivedAudio: true,
            received: 1300,
            reportsRefused: "receiver reports: the transport's SRTCP is not AES-128-GCM",
          }),
        ],
        { reports: 36, keepalives: 1200 },
      ),
    ).toBe(
      "lean native media path: 0 of 0 audio publishers sent 0 packets on it; 2 of 2 audio receivers read 2,500 on it; " +
        "its thread sent 36 receiver reports and answered 1,200 keepalives; not carried: receiver reports: the transport's SRTCP is not AES-128-GCM",
    );
  });

  it("says how many SRTCP packets the addon opened and sealed for werift, and nothing when none", () => {
    const carried = [use({ publishedAudio: true, sent: 1500 })];
    expect(nativePathLine(carried, { reports: 0, keepalives: 0, srtcp: { opened: 4321, sealed: 12 } })).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "the addon opened 4,321 SRTCP packets and sealed 12",
    );
    expect(nativePathLine(carried, { reports: 0, keepalives: 0, srtcp: { opened: 0, sealed: 0 } })).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it",
    );
  });

  it("says how many of the server's RTCP packets the thread took, and nothing when none", () => {
    const carried = [use({ receivedAudio: true, received: 1200 })];
    expect(
      nativePathLine(carried, {
        reports: 36,
        keepalives: 12,
        rtcpTaken: 4321,
        rtcpTakenSenderReports: 2100,
        srtcp: { opened: 0, sealed: 40 },
      }),
    ).toBe(
      "lean native media path: 0 of 0 audio publishers sent 0 packets on it; 1 of 1 audio receivers read 1,200 on it; " +
        "its thread sent 36 receiver reports and answered 12 keepalives; it took 4,321 of the server's RTCP packets, 2,100 with sender reports; " +
        "the addon opened 0 SRTCP packets and sealed 40",
    );
    expect(nativePathLine(carried, { reports: 36, keepalives: 12, rtcpTaken: 0 })).toBe(
      "lean native media path: 0 of 0 audio publishers sent 0 packets on it; 1 of 1 audio receivers read 1,200 on it; " +
        "its thread sent 36 receiver reports and answered 12 keepalives",
    );
    // nothing said of the thread before: it is named
    expect(
      nativePathLine(carried, { reports: 0, keepalives: 0, rtcpTaken: 5, rtcpTakenSenderReports: 0 }),
    ).toBe(
      "lean native media path: 0 of 0 audio publishers sent 0 packets on it; 1 of 1 audio receivers read 1,200 on it; " +
        "its thread took 5 of the server's RTCP packets, 0 with sender reports",
    );
  });

  it("says how many sender reports and consent checks the thread sent, beside the receiver reports or alone", () => {
    const carried = [use({ publishedAudio: true, sent: 1500 })];
    expect(nativePathLine(carried, { reports: 36, senderReports: 30, keepalives: 12 })).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "its thread sent 36 receiver reports and 30 sender reports, and answered 12 keepalives",
    );
    expect(nativePathLine(carried, { reports: 0, senderReports: 1234, keepalives: 0, rtcpTaken: 7 })).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "its thread sent 1,234 sender reports; it took 7 of the server's RTCP packets, 0 with sender reports",
    );
    // and the consent checks it sent, with those answered: a list of three
    expect(
      nativePathLine(carried, {
        reports: 36,
        senderReports: 30,
        consentRequests: 1200,
        consentAnswers: 1194,
        keepalives: 12,
      }),
    ).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "its thread sent 36 receiver reports, 30 sender reports and 1,200 consent checks (1,194 answered), and answered 12 keepalives",
    );
    expect(
      nativePathLine(carried, { reports: 0, consentRequests: 7, consentAnswers: 0, keepalives: 0 }),
    ).toBe(
      "lean native media path: 1 of 1 audio publishers sent 1,500 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "its thread sent 7 consent checks (0 answered)",
    );
    // a publisher whose reports stayed werift's is named
    const refused = [
      use({
        publishedAudio: true,
        sent: 10,
        senderReportsRefused: "sender reports: the transport's SRTCP is not AES-128-GCM",
      }),
    ];
    expect(nativePathLine(refused, { reports: 0, keepalives: 0 })).toBe(
      "lean native media path: 1 of 1 audio publishers sent 10 packets on it; 0 of 0 audio receivers read 0 on it; " +
        "not carried: sender reports: the transport's SRTCP is not AES-128-GCM",
    );
  });

  it("says nothing of a worker with no audio, and 0 of N when nothing was carried", () => {
    expect(nativePathLine([])).toBeUndefined();
    expect(nativePathLine([use({ receivedAudio: true, received: 5 })], { reports: 0, keepalives: 3 })).toBe(
      "lean native media path: 0 of 0 audio publishers sent 0 packets on it; 1 of 1 audio receivers read 5 on it; its thread answered 3 keepalives",
    );
    expect(nativePathLine([use({})])).toBeUndefined();
    expect(nativePathLine([use({ publishedAudio: true }), use({ receivedAudio: true })])).toBe(
      "lean native media path: 0 of 1 audio publishers sent 0 packets on it; 0 of 1 audio receivers read 0 on it",
    );
  });
});
