import { describe, expect, it } from "vitest";
import { ChromiumError, chromiumFlags, chromiumPath, launchChromium } from "./chromium.js";

const options = { audioFile: "/cache/tone-300hz.wav", serverHost: "10.1.2.3", root: false };

describe("chromiumFlags", () => {
  it("feeds the fake microphone from the WAV and lets only the server and loopback resolve", () => {
    const flags = chromiumFlags(options);
    expect(flags).toContain("--use-fake-device-for-media-stream");
    expect(flags).toContain("--use-file-for-fake-audio-capture=/cache/tone-300hz.wav");
    expect(flags).toContain("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 10.1.2.3, EXCLUDE 127.0.0.1");
    expect(flags).toContain("--disable-background-timer-throttling");
  });

  it("resolves the testbed's TURN/TLS name and trusts its certificate by key, nothing else", () => {
    const spki = "84f1BJanpAQ+lwT2mFZfW0LYhMXq/zglnQz/j5kYA4I=";
    const flags = chromiumFlags({
      ...options,
      turnTls: { name: "turn.lkswarm.test", host: "10.201.7.5", spki },
    });
    expect(flags).toContain(
      "--host-resolver-rules=MAP turn.lkswarm.test 10.201.7.5, MAP * ~NOTFOUND, EXCLUDE 10.1.2.3, EXCLUDE 127.0.0.1",
    );
    expect(flags).toContain(`--ignore-certificate-errors-spki-list=${spki}`);
    expect(flags).not.toContain("--ignore-certificate-errors");
    expect(chromiumFlags(options).some((f) => f.startsWith("--ignore-certificate-errors"))).toBe(false);
    // each part goes into a flag: a comma would add a resolver rule of its own
    expect(() =>
      chromiumFlags({ ...options, turnTls: { name: "turn.lkswarm.test", host: "10.201.7.5, MAP *", spki } }),
    ).toThrow("turnTls: expected a DNS name, an IPv4 address and a base64 SHA-256 pin");
  });

  it("turns the sandbox off only as root", () => {
    expect(chromiumFlags(options)).not.toContain("--no-sandbox");
    expect(chromiumFlags({ ...options, root: true })).toContain("--no-sandbox");
  });
});

describe("launchChromium", () => {
  it("names the fix when the binary is missing", async () => {
    await expect(launchChromium(options, "/nonexistent/chromium")).rejects.toThrow(
      new ChromiumError(
        "missing",
        "Chromium not found at /nonexistent/chromium: run scripts/setup (it installs Debian's chromium), or set LIVEKIT_SWARM_CHROMIUM",
      ),
    );
  });

  it("takes the binary from LIVEKIT_SWARM_CHROMIUM", () => {
    expect(chromiumPath({ LIVEKIT_SWARM_CHROMIUM: "/opt/chrome" })).toBe("/opt/chrome");
    expect(chromiumPath({})).toBe("/usr/lib/chromium/chromium");
  });
});
