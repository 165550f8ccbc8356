import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { forgetSecret } from "./down.js";

describe("forgetSecret: a testbed, down", () => {
  it("removes the files holding the run's secret, redacts it in the stopped state, and keeps the logs", () => {
    const dir = mkdtempSync(join(tmpdir(), "embedded-"));
    const secret = "s3cr3t-0123456789abcdef0123456789abcdef";
    writeFileSync(join(dir, "node1.yaml"), `keys:\n  APIx: ${secret}\n`);
    writeFileSync(
      join(dir, "state.stopped.json"),
      JSON.stringify({ apiKey: "APIx", apiSecret: secret, nodes: [] }),
    );
    writeFileSync(join(dir, "node1.log"), "INFO starting\n");
    mkdirSync(join(dir, "turn-tls"));
    forgetSecret(dir, secret);
    expect(existsSync(join(dir, "node1.yaml"))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, "state.stopped.json"), "utf8"))).toEqual({
      apiKey: "APIx",
      apiSecret: "REDACTED",
      nodes: [],
    });
    expect(readFileSync(join(dir, "node1.log"), "utf8")).toBe("INFO starting\n");
    expect(existsSync(join(dir, "turn-tls"))).toBe(true);
    // a folder gone meanwhile is no error, and an already redacted state is left as it is
    forgetSecret(join(dir, "absent"), secret);
    forgetSecret(dir, "REDACTED");
    expect(existsSync(join(dir, "state.stopped.json"))).toBe(true);
  });
});
