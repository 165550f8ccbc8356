/**
 * deploy/swarm/Dockerfile, checked without a Docker engine: the hadolint rules that matter here,
 * applied to the parsed instructions, and the facts the image shares with the repository.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LIVEKIT_SERVER_VERSION } from "@livekit-swarm/testbed";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DOCKERFILE = join(ROOT, "deploy/swarm/Dockerfile");

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Instructions with continuation lines joined and comments dropped, each with its stage's index. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  let stage = -1;
  return joined
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [op = "", ...rest] = line.trim().split(/\s+/);
      if (op.toUpperCase() === "FROM") stage += 1;
      return { op: op.toUpperCase(), args: rest.join(" "), stage };
    });
}

const all = instructions(readFileSync(DOCKERFILE, "utf8"));
const froms = all.filter((i) => i.op === "FROM");
const stageNames = froms.map((f) => /\bAS\s+(\S+)/i.exec(f.args)?.[1]);
const last = froms.length - 1;

/** Dockerfile.dockerignore patterns as the build context sees them (the forms used there). */
function ignored(path: string): boolean {
  const patterns = readFileSync(`${DOCKERFILE}.dockerignore`, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  return patterns.some((p) => {
    if (p.startsWith("**/")) return path.split("/").includes(p.slice(3));
    if (p.startsWith("*.")) return path.endsWith(p.slice(1));
    return path === p || path.startsWith(`${p}/`);
  });
}

describe("deploy/swarm/Dockerfile", () => {
  it("is multi-stage: livekit-server built in a Go stage, the package packed in another, copied into the runtime", () => {
    expect(stageNames.slice(0, last)).toEqual(["livekit-server", "package"]);
    const copiedFrom = all
      .filter((i) => i.op === "COPY" && i.stage === last)
      .map((i) => /--from=(\S+)/.exec(i.args)?.[1]);
    expect(copiedFrom).toEqual(expect.arrayContaining(["livekit-server", "package"]));
    for (const from of copiedFrom) if (from !== undefined) expect(stageNames).toContain(from);
  });

  it("pins every base image to an exact version (hadolint DL3006, DL3007)", () => {
    for (const f of froms) {
      const image = f.args.split(/\s+/)[0] ?? "";
      expect(image, image).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+-[a-z]+(-slim)?$/);
    }
    // the runtime's Node satisfies the package's engines (>=20.19)
    const runtime = /^node:(\d+)\.(\d+)\./.exec(froms[last]?.args ?? "");
    expect(Number(runtime?.[1]) * 1000 + Number(runtime?.[2])).toBeGreaterThanOrEqual(20_019);
  });

  it("builds the livekit-server version the testbed and scripts/setup pin", () => {
    const arg = all.find((i) => i.op === "ARG" && i.args.startsWith("LIVEKIT_SERVER_VERSION="));
    expect(arg?.args).toBe(`LIVEKIT_SERVER_VERSION=${LIVEKIT_SERVER_VERSION}`);
    expect(readFileSync(join(ROOT, "scripts/setup"), "utf8")).toContain(
      `LIVEKIT_SERVER_VERSION=${LIVEKIT_SERVER_VERSION}\n`,
    );
    expect(all.find((i) => i.op === "ENV" && i.stage === last)?.args).toContain(
      "LIVEKIT_SERVER_BIN=/usr/local/bin/livekit-server",
    );
  });

  it("runs as a non-root user (hadolint DL3002)", () => {
    const users = all.filter((i) => i.op === "USER");
    expect(users.at(-1)).toMatchObject({ args: "node", stage: last });
  });

  it("both images' package stages copy what the package carries beside its bundle (bundle.ts SHIPPED)", () => {
    const bundle = readFileSync(join(ROOT, "packages/livekit-swarm/src/bundle.ts"), "utf8");
    const shipped =
      /SHIPPED = \[([^\]]*)\]/
        .exec(bundle)?.[1]
        ?.match(/"[^"]+"/g)
        ?.map((q) => q.slice(1, -1)) ?? [];
    expect(shipped).toEqual([
      "scenarios",
      "chaos",
      "tools/ice-scope/ice-scope.c",
      "tools/lean-media/lean-media.c",
    ]);
    for (const file of ["deploy/swarm/Dockerfile", "deploy/swarm/Dockerfile.local"]) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const path of shipped) {
        const top = path.startsWith("tools/") ? path.split("/").slice(0, 2).join("/") : path;
        expect(text, `${file} copies ${top}`).toContain(`COPY ${top} ./${top}`);
      }
    }
  });

  it("copies only files that exist in the build context and are not ignored", () => {
    const sources = all
      .filter((i) => (i.op === "COPY" || i.op === "ADD") && !i.args.includes("--from="))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(4);
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(ignored(source), `${source} is not in Dockerfile.dockerignore`).toBe(false);
    }
    expect(
      all.some((i) => i.op === "ADD"),
      "COPY, not ADD (DL3020)",
    ).toBe(false);
  });

  it("follows hadolint's apt, cd and exec-form rules (DL3009, DL3015, DL3003, DL3025)", () => {
    const runs = all.filter((i) => i.op === "RUN").map((i) => i.args);
    for (const run of runs.filter((r) => r.includes("apt-get install"))) {
      expect(run).toContain("--no-install-recommends");
      expect(run).toContain("-y");
      expect(run).toContain("rm -rf /var/lib/apt/lists/*");
    }
    for (const run of runs) expect(run, run).not.toMatch(/(^|&&\s*)cd\s/);
    for (const op of ["ENTRYPOINT", "CMD"]) {
      const args = all.find((i) => i.op === op && i.stage === last)?.args ?? "";
      expect(() => JSON.parse(args) as unknown, `${op} in exec form`).not.toThrow();
    }
  });
});
