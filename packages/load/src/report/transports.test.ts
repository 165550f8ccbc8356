import { describe, expect, it } from "vitest";
import type { GroupFigures } from "../run/groups.js";
import { engineMarkdown, engineText, transportMarkdown, transportText } from "./transports.js";

const group = (name: string, joined: number, joinP95S: number, lossRatio: number): GroupFigures => ({
  name,
  participants: joined,
  joined,
  joinP95S,
  lossRatio,
  jitterP95S: 0.004,
  reconnects: 0,
  disconnected: 0,
});

describe("per-transport rows", () => {
  const groups = [group("turn-tls", 1, 1.25, 0.01), { ...group("udp", 8, 0.21, 0), iceP95S: 0.04 }];

  it("prints nothing when no engine saw a selected pair", () => {
    expect(transportText([])).toBe("");
    expect(transportMarkdown([])).toBe("");
  });

  it("gives the terminal and report.md the same cells", () => {
    const text = transportText(groups).split("\n");
    expect(text[0]).toMatch(
      /^transport\s+participants\s+join p95\s+ICE p95\s+loss\s+jitter p95\s+reconnects$/,
    );
    expect(text[1]).toMatch(/^turn-tls\s+1\s+1\.25 s\s+-\s+1\.00%\s+4\.0 ms\s+0$/);
    expect(text[2]).toMatch(/^udp\s+8\s+210 ms\s+40 ms\s+0\.00%\s+4\.0 ms\s+0$/);
    const md = transportMarkdown(groups);
    expect(md).toContain("| turn-tls | 1 | 1.25 s | - | 1.00% | 4.0 ms | 0 |");
    expect(md).toContain("| udp | 8 | 210 ms | 40 ms | 0.00% | 4.0 ms | 0 |");
  });
});

describe("per-engine rows", () => {
  it("prints nothing for a run on one engine", () => {
    expect(engineText([group("native", 3, 0.2, 0)])).toBe("");
    expect(engineMarkdown([group("native", 3, 0.2, 0)])).toBe("");
  });

  it("gives each engine its loss and frame rate, in the terminal and report.md alike", () => {
    const withFps = [
      { ...group("browser", 2, 1.8, 0.101), frameRateP50: 12.4 },
      group("lean", 6, 0.4, 0.097),
    ];
    const text = engineText(withFps).split("\n");
    expect(text[0]).toMatch(
      /^engine\s+participants\s+join p95\s+ICE p95\s+loss\s+jitter p95\s+reconnects\s+fps p50$/,
    );
    expect(text[1]).toMatch(/^browser\s+2\s+1\.80 s\s+-\s+10\.1%\s+4\.0 ms\s+0\s+12\.4$/);
    // no video: no frame rate, never a 0
    expect(text[2]).toMatch(/^lean\s+6\s+400 ms\s+-\s+9\.70%\s+4\.0 ms\s+0\s+-$/);
    const md = engineMarkdown(withFps);
    expect(md).toContain("### Per engine");
    expect(md).toContain("| browser | 2 | 1.80 s | - | 10.1% | 4.0 ms | 0 | 12.4 |");
  });
});
