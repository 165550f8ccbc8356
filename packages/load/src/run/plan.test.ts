import { describe, expect, it } from "vitest";
import { EngineError, leanLoopOptions } from "../engine/engine.js";
import { defaultWorkers, packetRate, planRun, shardByRoom, videoPacketRate, type RunShape } from "./plan.js";

const VIDEO_360P = { fps: 20, maxBitrate: 460_800 };
const VIDEO_720P = { fps: 30, maxBitrate: 2_764_800 };

const shape = (over: Partial<RunShape>): RunShape => ({
  engine: "native",
  rooms: 1,
  videoPublishers: 1,
  audioPublishers: 1,
  subscribers: 2,
  publishersSubscribe: false,
  latencyProbes: 1,
  browserProbes: 0,
  numPerSecond: 10,
  roomPrefix: "r",
  identityPrefix: "p-",
  subscribeLimit: undefined,
  data: false,
  video: { resolution: "360p", width: 640, height: 360, fps: 20, codec: "vp8" },
  ...over,
});

describe("planRun", () => {
  it("counts publishers as max(video, audio), video and audio going to the lowest indexes", () => {
    const plan = planRun(shape({ videoPublishers: 1, audioPublishers: 3, subscribers: 0 }));
    expect(plan.participants.map((p) => [p.identity, p.publishVideo, p.publishAudio])).toEqual([
      ["p-pub-1", true, true],
      ["p-pub-2", false, true],
      ["p-pub-3", false, true],
    ]);
  });

  it("joins publishers before subscribers, room after room, at num-per-second", () => {
    const plan = planRun(shape({ rooms: 2, numPerSecond: 4 }));
    expect(plan.participants.map((p) => `${p.room}/${p.role}@${p.joinAtMs}`)).toEqual([
      "r1/publisher@0",
      "r1/subscriber@250",
      "r1/subscriber@500",
      "r2/publisher@750",
      "r2/subscriber@1000",
      "r2/subscriber@1250",
    ]);
    expect(plan.rampMs).toBe(1250);
  });

  it("subscribers expect every publisher's tracks; publishers expect none unless they subscribe", () => {
    const plan = planRun(shape({ videoPublishers: 2, audioPublishers: 3, subscribers: 1 }));
    const sub = plan.participants.find((p) => p.role === "subscriber");
    expect(sub?.expectedTracks).toEqual({ audio: 3, video: 2 });
    expect(
      plan.participants
        .filter((p) => p.role === "publisher")
        .every((p) => p.expectedTracks.audio + p.expectedTracks.video === 0),
    ).toBe(true);
  });

  it("a conference: each publisher expects the others' tracks, not its own", () => {
    const plan = planRun(
      shape({ videoPublishers: 4, audioPublishers: 4, subscribers: 0, publishersSubscribe: true }),
    );
    for (const p of plan.participants) expect(p.expectedTracks).toEqual({ audio: 3, video: 3 });
  });

  it("subscribe-limit caps expected tracks at the first publishers", () => {
    const plan = planRun(
      shape({ videoPublishers: 1, audioPublishers: 5, subscribers: 1, subscribeLimit: 2 }),
    );
    expect(plan.participants.find((p) => p.role === "subscriber")?.expectedTracks).toEqual({
      audio: 2,
      video: 1,
    });
  });

  it("latency probes are the first subscribers, and only when there is video to decode", () => {
    expect(
      planRun(shape({ subscribers: 3, latencyProbes: 2 })).participants.filter((p) => p.probe),
    ).toHaveLength(2);
    expect(
      planRun(shape({ videoPublishers: 0, subscribers: 3, latencyProbes: 2 })).participants.filter(
        (p) => p.probe,
      ),
    ).toHaveLength(0);
  });
});

describe("E2EE wrong-key subscribers", () => {
  it("are the last subscribers of each room, never the latency probes, and only when asked", () => {
    const plan = planRun(shape({ rooms: 2, subscribers: 3, e2ee: { wrongKeySubscribers: 2 } }));
    expect(
      plan.participants.filter((p) => p.wrongKey === true).map((p) => `${p.room}/${p.identity}`),
    ).toEqual(["r1/p-sub-2", "r1/p-sub-3", "r2/p-sub-2", "r2/p-sub-3"]);
    expect(plan.participants.filter((p) => p.probe).map((p) => p.wrongKey)).toEqual([undefined, undefined]);
    expect(planRun(shape({ e2ee: { wrongKeySubscribers: 0 } })).participants.some((p) => p.wrongKey)).toBe(
      false,
    );
  });

  it("the lean engine refuses an E2EE run in one line naming the fix", () => {
    expect(() => planRun(shape({ engine: "lean", e2ee: { wrongKeySubscribers: 0 } }))).toThrow(
      "--engine lean: the lean engine does not encrypt media end to end (LiveKit's frame cryptor): drop --e2ee, or --engine native",
    );
  });
});

describe("engines", () => {
  const audioOnly = { videoPublishers: 0, audioPublishers: 1, subscribers: 4, latencyProbes: 1 };

  it("native, lean and browser put every participant on that engine", () => {
    for (const engine of ["native", "lean", "browser"] as const)
      expect(new Set(planRun(shape({ ...audioOnly, engine })).participants.map((p) => p.engine))).toEqual(
        new Set([engine]),
      );
  });

  it("mixed puts the latency probes of each room on native and the bulk on lean", () => {
    const plan = planRun(shape({ ...audioOnly, rooms: 2, latencyProbes: 2, engine: "mixed" }));
    expect(plan.participants.map((p) => `${p.room}/${p.identity}:${p.engine}`)).toEqual([
      "r1/p-pub-1:lean",
      "r1/p-sub-1:native",
      "r1/p-sub-2:native",
      "r1/p-sub-3:lean",
      "r1/p-sub-4:lean",
      "r2/p-pub-1:lean",
      "r2/p-sub-1:native",
      "r2/p-sub-2:native",
      "r2/p-sub-3:lean",
      "r2/p-sub-4:lean",
    ]);
  });

  it("browser probes are the last subscribers of each room, beside the bulk and the latency probes", () => {
    const plan = planRun(
      shape({ ...audioOnly, videoPublishers: 1, rooms: 2, browserProbes: 2, engine: "mixed" }),
    );
    expect(
      plan.participants.map((p) => `${p.room}/${p.identity}:${p.engine}${p.probe ? "+probe" : ""}`),
    ).toEqual([
      "r1/p-pub-1:lean",
      "r1/p-sub-1:native+probe",
      "r1/p-sub-2:lean",
      "r1/p-sub-3:browser+probe",
      "r1/p-sub-4:browser+probe",
      "r2/p-pub-1:lean",
      "r2/p-sub-1:native+probe",
      "r2/p-sub-2:lean",
      "r2/p-sub-3:browser+probe",
      "r2/p-sub-4:browser+probe",
    ]);
  });

  it.each([
    ["native", 0, ["native", "native"]],
    ["lean", 1, ["lean", "browser"]],
    ["native", 2, ["browser", "browser"]],
    ["browser", 2, ["browser", "browser"]],
  ] as const)("%s with %d browser probe(s) of 2 subscribers", (engine, browserProbes, engines) => {
    const plan = planRun(shape({ ...audioOnly, subscribers: 2, engine, browserProbes }));
    expect(plan.participants.filter((p) => p.role === "subscriber").map((p) => p.engine)).toEqual(engines);
    // audio only: nothing to decode, so no participant is a latency probe
    expect(plan.participants.some((p) => p.probe)).toBe(false);
  });

  it("browser probes decode video when there is video, and expect every publisher's tracks", () => {
    const plan = planRun(
      shape({ videoPublishers: 2, audioPublishers: 2, subscribers: 3, browserProbes: 1, engine: "lean" }),
    );
    const browser = plan.participants.filter((p) => p.engine === "browser");
    expect(browser.map((p) => [p.identity, p.probe, p.expectedTracks])).toEqual([
      ["p-sub-3", true, { audio: 2, video: 2 }],
    ]);
  });

  it("refuses what a browser probe cannot do by naming --browser-probes", () => {
    expect(() => planRun(shape({ engine: "native", browserProbes: 1, subscribeLimit: 1 }))).toThrow(
      "--browser-probes: the browser engine subscribes to every publisher: drop --subscribe-limit, or --browser-probes 0",
    );
  });

  it.each(["lean", "mixed"] as const)(
    "lets %s publish the scenario's 360p VP8 on lean publishers",
    (engine) => {
      const publishers = planRun(shape({ engine, videoPublishers: 1 })).participants.filter(
        (p) => p.publishVideo,
      );
      expect(publishers.map((p) => p.engine)).toEqual(["lean"]);
    },
  );

  it("lets lean publish H.264 at 720p, the loop the engine makes for it", () => {
    const video = { resolution: "720p", width: 1280, height: 720, fps: 20, codec: "h264" } as const;
    const publishers = planRun(shape({ engine: "lean", videoPublishers: 1, video })).participants.filter(
      (p) => p.publishVideo,
    );
    expect(publishers.map((p) => p.engine)).toEqual(["lean"]);
    expect(leanLoopOptions(video)).toEqual({ width: 1280, height: 720, fps: 20, codec: "h264" });
    expect(() => leanLoopOptions({ ...video, codec: "av1" })).toThrow(/no av1 loop/);
  });

  it.each([
    [
      "vp9",
      { resolution: "360p", width: 640, height: 360, fps: 20, codec: "vp9" },
      "vp9 at 360p 20 fps",
      "360p --video-fps 20",
    ],
    [
      "h264 at 1080p",
      { resolution: "1080p", width: 1920, height: 1080, fps: 20, codec: "h264" },
      "h264 at 1080p 20 fps",
      "360p --video-fps 20",
    ],
    [
      "a custom size",
      { resolution: "640x480", width: 640, height: 480, fps: 20, codec: "vp8" },
      "vp8 at 640x480 20 fps",
      "360p --video-fps 20",
    ],
    [
      "60 fps",
      { resolution: "720p", width: 1280, height: 720, fps: 60, codec: "vp8" },
      "vp8 at 720p 60 fps",
      "720p --video-fps 50",
    ],
  ] as const)("refuses %s video on lean in one line naming the fix", (_what, video, asked, fix) => {
    expect(() => planRun(shape({ engine: "mixed", videoPublishers: 1, video }))).toThrow(
      new EngineError(
        "unsupported",
        `--engine mixed: the lean engine sends vp8 or h264 video at 180p, 360p, 540p, 720p, 1080p (h264 up to 720p) up to 50 fps, not ${asked}: pass --video-codec ${asked.startsWith("h264") ? "h264" : "vp8"} --video-resolution ${fix}, or --engine native`,
      ),
    );
  });

  it("plans 1080p VP8 on lean (H.264 stops at 720p, its loop's level 3.1)", () => {
    const video = { resolution: "1080p", width: 1920, height: 1080, fps: 30, codec: "vp8" } as const;
    const plan = planRun(shape({ engine: "lean", videoPublishers: 1, video }));
    expect(plan.participants.filter((p) => p.publishVideo)).toHaveLength(1);
  });

  it("a lean or mixed room of subscribers only needs no publisher engine check", () => {
    expect(
      planRun(shape({ engine: "lean", videoPublishers: 0, audioPublishers: 0 })).participants,
    ).toHaveLength(2);
  });
});

describe("sharding", () => {
  it("keeps each room in one worker and balances rooms round-robin", () => {
    const plan = planRun(shape({ rooms: 5 }));
    const shards = shardByRoom(plan, 2);
    expect(shards).toHaveLength(2);
    expect(shards.map((s) => new Set(s.map((p) => p.room)).size)).toEqual([3, 2]);
    const roomsSeen = shards.flatMap((s) => [...new Set(s.map((p) => p.room))]);
    expect(new Set(roomsSeen).size).toBe(5);
  });

  it("never makes empty workers", () => {
    expect(shardByRoom(planRun(shape({ rooms: 1 })), 4)).toHaveLength(1);
  });

  it("defaults to one worker per ~100 native participants, at most one per core", () => {
    const of = (n: number) =>
      Array.from({ length: n }, () => ({
        engine: "native" as const,
        publishAudio: true,
        publishVideo: true,
        expectedTracks: { audio: 9, video: 9 },
      }));
    expect(defaultWorkers(of(50), 2, VIDEO_360P)).toBe(1);
    expect(defaultWorkers(of(100), 2, VIDEO_360P)).toBe(1);
    expect(defaultWorkers(of(101), 2, VIDEO_360P)).toBe(2);
    expect(defaultWorkers(of(5000), 2, VIDEO_360P)).toBe(2);
    expect(defaultWorkers([], 2, VIDEO_360P)).toBe(1);
  });

  it("sizes lean workers by the packets they send and receive: 10,000 a second each", () => {
    // 360p at 20 fps and 460.8 kb/s: 2,880 bytes a frame, 3 packets of at most 1,200 bytes
    expect(videoPacketRate(VIDEO_360P)).toBe(60);
    // 720p at 30 fps and 2.76 Mb/s: 11,520 bytes a frame, 10 packets
    expect(videoPacketRate(VIDEO_720P)).toBe(300);
    const audioRooms = (rooms: number) =>
      planRun(shape({ engine: "lean", rooms, videoPublishers: 0, audioPublishers: 1, subscribers: 4 }))
        .participants;
    // 30 rooms of 1+4: 30 publishers and 120 subscribers at 50 packets/s each, 7,500 in all
    expect(audioRooms(30).reduce((n, p) => n + packetRate(p, VIDEO_360P), 0)).toBe(7_500);
    expect(defaultWorkers(audioRooms(30), 2, VIDEO_360P)).toBe(1);
    expect(defaultWorkers(audioRooms(40), 2, VIDEO_360P)).toBe(1);
    expect(defaultWorkers(audioRooms(41), 2, VIDEO_360P)).toBe(2);
    expect(defaultWorkers(audioRooms(80), 4, VIDEO_360P)).toBe(2);
    expect(defaultWorkers(audioRooms(500), 2, VIDEO_360P)).toBe(2);
    // four 720p publishers that all subscribe: 300 sent and 900 received each
    const conference = planRun(
      shape({
        engine: "lean",
        rooms: 8,
        videoPublishers: 4,
        audioPublishers: 0,
        subscribers: 0,
        publishersSubscribe: true,
      }),
    ).participants;
    expect(conference.map((p) => packetRate(p, VIDEO_720P))).toEqual(Array(32).fill(1_200));
    expect(defaultWorkers(conference, 8, VIDEO_720P)).toBe(4);
    // mixed: lean bulk by packets (7,500: three quarters of a worker), native probes by heads (41: 0.41)
    const mixed = [
      ...audioRooms(30),
      ...audioRooms(11)
        .filter((p) => p.role === "subscriber")
        .slice(0, 41)
        .map((p) => ({ ...p, engine: "native" as const })),
    ];
    expect(mixed).toHaveLength(150 + 41);
    expect(defaultWorkers(mixed, 4, VIDEO_360P)).toBe(2);
  });
});
