import { describe, expect, it } from "vitest";
import { scrapeTarget } from "./options.js";

describe("testbed --scrape", () => {
  it("collects host:port targets as Prometheus takes them", () => {
    expect(scrapeTarget("[::1]:9090", scrapeTarget("127.0.0.1:9464", undefined))).toEqual([
      "127.0.0.1:9464",
      "[::1]:9090",
    ]);
    expect(scrapeTarget("node-exporter.local:9100", undefined)).toEqual(["node-exporter.local:9100"]);
  });

  it.each(["a b", ":99999", "host:0", "host:65536", "host", "http://host:9100", "a:1\n- job_name: x"])(
    "refuses %j in one line",
    (value) => {
      expect(() => scrapeTarget(value, undefined)).toThrow(/^testbed: --scrape .*: expected host:port/);
    },
  );
});
