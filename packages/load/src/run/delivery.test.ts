import { describe, expect, it } from "vitest";
import { delivery, OWED_AFTER_MS } from "./delivery.js";
import type { ParticipantPlan } from "./messages.js";
import type { ParticipantState } from "./participant-state.js";

const END = 100_000;

/** A participant of room r that joined at `at` (epoch ms; undefined: never), with packets from `got` streams. */
function person(
  identity: string,
  at: number | undefined,
  opts: { publish?: boolean; expect?: number; got?: { audio?: number; video?: number }; left?: number } = {},
): ParticipantState {
  const plan = {
    engine: "native",
    room: "r",
    identity,
    role: opts.publish === true ? "publisher" : "subscriber",
    publishAudio: opts.publish === true,
    publishVideo: opts.publish === true,
    expectedTracks: { audio: opts.expect ?? 0, video: opts.expect ?? 0 },
    joinAtMs: 0,
  } as unknown as ParticipantPlan;
  const keys = (n = 0): Set<string> => new Set(Array.from({ length: n }, (_, i) => `k${i}`));
  return {
    plan,
    ...(at !== undefined ? { joinS: 1, joinStartMs: at - 1000 } : {}),
    ...(opts.left !== undefined ? { leftMs: opts.left } : {}),
    everReceived: { audio: keys(opts.got?.audio), video: keys(opts.got?.video) },
  } as unknown as ParticipantState;
}

describe("delivery", () => {
  it("owes each subscriber the tracks of publishers in the room with it for 10 s, and names who lacks one", () => {
    const all = [
      person("pub-0", 0, { publish: true }),
      person("pub-1", 0, { publish: true }),
      person("sub-0", 5000, { expect: 2, got: { audio: 2, video: 2 } }),
      person("sub-1", 5000, { expect: 2, got: { audio: 1, video: 0 } }),
    ];
    expect(delivery(all, END)).toEqual({
      owed: { audio: 4, video: 4 },
      neverReceived: { audio: 1, video: 2 },
      undelivered: ["r/sub-1: 1 audio, 2 video"],
    });
  });

  it("owes nothing for a pair together under 10 s, a publisher that never joined, or a subscriber expecting none", () => {
    const late = END - OWED_AFTER_MS + 1;
    expect(
      delivery([person("pub", 0, { publish: true }), person("sub", late, { expect: 1 })], END).owed,
    ).toEqual({ audio: 0, video: 0 });
    expect(
      delivery([person("pub", undefined, { publish: true }), person("sub", 0, { expect: 1 })], END).owed,
    ).toEqual({ audio: 0, video: 0 });
    // exactly 10 s together is owed
    expect(
      delivery([person("pub", 0, { publish: true }), person("sub", END - OWED_AFTER_MS, { expect: 1 })], END)
        .neverReceived,
    ).toEqual({ audio: 1, video: 1 });
    expect(
      delivery([person("pub", 0, { publish: true }), person("sub", 0, { expect: 0 })], END).owed,
    ).toEqual({
      audio: 0,
      video: 0,
    });
  });

  it("counts a subscriber's time until it left, and caps owed tracks at what its plan expects", () => {
    const left = delivery(
      [person("pub", 0, { publish: true }), person("sub", 0, { expect: 1, left: OWED_AFTER_MS - 1 })],
      END,
    );
    expect(left.owed).toEqual({ audio: 0, video: 0 });
    const capped = delivery(
      [
        person("a", 0, { publish: true }),
        person("b", 0, { publish: true }),
        person("sub", 0, { expect: 1, got: { audio: 5, video: 1 } }),
      ],
      END,
    );
    expect(capped).toEqual({
      owed: { audio: 1, video: 1 },
      neverReceived: { audio: 0, video: 0 },
      undelivered: [],
    });
  });
});
