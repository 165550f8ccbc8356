import { describe, expect, it } from "vitest";
import { K6_SETTINGS, settings } from "./index.js";

describe("storm --set", () => {
  it("takes the scripts' STORM_* settings and the listed k6 options, beside --rate, --vus and --duration", () => {
    expect(
      settings({
        set: ["STORM_HOLD_MAX_S=20", "K6_INSECURE_SKIP_TLS_VERIFY=true", "STORM_EXECUTOR=ramping"],
        vus: 4,
      }),
    ).toEqual({
      STORM_HOLD_MAX_S: "20",
      K6_INSECURE_SKIP_TLS_VERIFY: "true",
      STORM_EXECUTOR: "ramping",
      STORM_VUS: "4",
    });
    expect(K6_SETTINGS).not.toContain("K6_LOG_OUTPUT");
  });

  it.each([
    [
      "K6_LOG_OUTPUT=file=/etc/x",
      /--set K6_LOG_OUTPUT: expected a script setting \(STORM_\*.*\) or one of the k6 options K6_INSECURE_SKIP_TLS_VERIFY, /,
    ],
    ["LD_PRELOAD=/tmp/x.so", /--set LD_PRELOAD: expected a script setting/],
    ["K6_OUT=json=/tmp/x", /--set K6_OUT: expected a script setting/],
    ["PATH=/tmp", /--set PATH: expected a script setting/],
    ["STORM_=1", /--set STORM_: expected a script setting/],
    ["LIVEKIT_API_SECRET=x", /pass the server and keys with --url/],
    ["storm_x=1", /expected NAME=value/],
  ])("refuses %s in one line", (pair, message) => {
    expect(() => settings({ set: [pair] })).toThrow(message);
  });
});
