import { describe, expect, it } from "vitest";
import { copySlot, twoFields } from "./slot-reading.js";

describe("reading a native slot", () => {
  it("twoFields reads the two fields copySlot would, into the array it is given, and nothing else", () => {
    const slot = Float64Array.from([4, 10, 20, 30, 40]);
    const into = new Float64Array(2);
    expect(twoFields(slot, 3, 1, into)).toBe(into);
    expect([...into]).toEqual([30, 10]);
    const whole = copySlot(slot);
    expect([into[0], into[1]]).toEqual([whole[3], whole[1]]);
    slot[3] = 31;
    slot[0] = 6;
    expect([...twoFields(slot, 3, 4, into)]).toEqual([31, 40]);
  });
});
