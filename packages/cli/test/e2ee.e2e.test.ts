import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { embeddedEnv, swarm } from "@livekit-swarm/test-kit";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

interface Summary {
  participants: { planned: number; joined: number };
  tracks: { expected: { video: number }; decodingVideo: number };
  figures: { metric: string; n: number; p50?: number; max?: number }[];
  decryptionFailures?: { room: string; participant: string; from: string[] }[];
  counters: Record<string, number>;
}

interface Sample {
  participant: string;
  inbound: { kind: string; received: number; lost: number; expected: number; framesDecoded: number }[];
}

/** Sums of a participant's inbound video over the run's windows. */
function videoIn(
  samples: readonly Sample[],
  identity: string,
): { received: number; lost: number; expected: number; decoded: number } {
  const sum = { received: 0, lost: 0, expected: 0, decoded: 0 };
  for (const s of samples.filter((x) => x.participant === identity))
    for (const t of s.inbound.filter((x) => x.kind === "video")) {
      sum.received += t.received;
      sum.lost += t.lost;
      sum.expected += t.expected;
      sum.decoded += t.framesDecoded;
    }
  return sum;
}

describe("E2EE rooms on the native engine, against an embedded LiveKit", () => {
  it("keyed subscribers decode and the probe reads the stamp through encryption; a wrong-key subscriber reports decryption failures, not loss; the key is nowhere", async () => {
    const root = mkdtempSync(join(tmpdir(), "swarm-e2ee-root-"));
    const out = mkdtempSync(join(tmpdir(), "swarm-e2ee-out-"));
    const key = randomBytes(24).toString("hex");
    const keyFile = join(root, "key.txt");
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    const scenario = join(root, "e2ee.yaml");
    // one publisher, three subscribers: the first the latency probe, the last with the wrong key
    writeFileSync(
      scenario,
      [
        "rooms: 1",
        "video-publishers: 1",
        "audio-publishers: 1",
        "subscribers: 3",
        "latency-probes: 1",
        "duration: 20s",
        "identity-prefix: e2ee-",
        "e2ee: { wrong-key-subscribers: 1 }",
        "",
      ].join("\n"),
    );
    const res = await swarm(
      ["--scenario", scenario, "--e2ee-key-file", keyFile, "-o", out],
      embeddedEnv(root),
      180_000,
    );
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as Summary;
    const samples = readFileSync(join(out, "samples.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as Sample);

    expect(summary.participants).toMatchObject({ planned: 4, joined: 4 });
    // the two keyed subscribers decode in the last window; the wrong-key one never does
    expect(summary.tracks.expected.video).toBe(3);
    expect(summary.tracks.decodingVideo, JSON.stringify(summary.tracks)).toBe(2);
    for (const identity of ["e2ee-sub-1", "e2ee-sub-2"]) {
      const v = videoIn(samples, identity);
      expect(v.decoded, `${identity}: ${JSON.stringify(v)}`).toBeGreaterThan(0);
    }
    // the probe read the publisher's stamp through encryption: latency on loopback, under a second
    const latency = summary.figures.find((f) => f.metric === "lkswarm_end_to_end_latency_seconds");
    expect(latency?.n, JSON.stringify(latency)).toBeGreaterThan(0);
    expect(latency?.p50).toBeGreaterThan(0);
    expect(latency?.max).toBeLessThan(1);

    // the wrong-key subscriber: its cryptor says DECRYPTION_FAILED for the publisher's frames
    expect(summary.decryptionFailures).toEqual([
      { room: expect.any(String) as string, participant: "e2ee-sub-3", from: ["e2ee-pub-1"] },
    ]);
    expect(summary.counters.e2ee_decryption_failures).toBe(1);
    expect(res.stdout).toMatch(/e2ee +1 participant\(s\) cannot decrypt .*e2ee-sub-3 from e2ee-pub-1/);
    // ... while its packets arrive whole: nothing it cannot read is counted as lost
    const wrong = videoIn(samples, "e2ee-sub-3");
    expect(wrong.received, JSON.stringify(wrong)).toBeGreaterThan(100);
    expect(wrong.decoded).toBe(0);
    expect(wrong.lost / wrong.expected, JSON.stringify(wrong)).toBeLessThan(0.02);

    // the key: not in the output folder, the testbed's files and logs, stdout or stderr
    const leaks = [
      ...[out, root].flatMap((dir) =>
        filesUnder(dir)
          .filter((f) => f !== keyFile && readFileSync(f, "latin1").includes(key))
          .map((f) => relative(dir, f)),
      ),
      ...(res.stdout.includes(key) ? ["stdout"] : []),
      ...(res.stderr.includes(key) ? ["stderr"] : []),
    ];
    expect(leaks).toEqual([]);
  }, 240_000);

  it.each(["lean", "browser"])(
    "the %s engine refuses --e2ee in one line naming the fix",
    async (engine) => {
      const root = mkdtempSync(join(tmpdir(), "swarm-e2ee-refused-"));
      const res = await swarm(["--engine", engine, "--e2ee", "--duration", "5s"], embeddedEnv(root), 60_000);
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `swarm: --engine ${engine}: the ${engine} engine does not encrypt media end to end (LiveKit's frame cryptor): drop --e2ee, or --engine native\n`,
      );
    },
    90_000,
  );
});
