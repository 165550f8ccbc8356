/**
 * The deploy/swarm image runs what the rendered Jobs ask of it. No Docker engine here: this checks
 * what can be checked from the files, that every COPY source exists and is not ignored, that the
 * entrypoint is the installed package's bin, and that the user matches the pods' runAsUser.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseScenario } from "@livekit-swarm/schema";
import { runManifests } from "./manifests.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dockerfile = readFileSync(`${root}deploy/swarm/Dockerfile`, "utf8");
const ignored = readFileSync(`${root}deploy/swarm/Dockerfile.dockerignore`, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));
const instructions = dockerfile
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => {
    const [op = "", ...rest] = l.trim().split(/\s+/);
    return { op: op.toUpperCase(), args: rest };
  });

describe("deploy/swarm/Dockerfile", () => {
  it("copies sources that exist and that its .dockerignore does not drop", () => {
    // COPY --from takes a build stage's output, not the context
    const copies = instructions.filter((i) => i.op === "COPY" && !i.args[0]?.startsWith("--from="));
    expect(copies.length).toBeGreaterThan(0);
    for (const { args } of copies) {
      for (const source of args.slice(0, -1)) {
        expect(existsSync(`${root}${source}`), source).toBe(true);
        expect(ignored, source).not.toContain(source);
      }
    }
  });

  it("copies the workspace whole, so `npm ci`, `tsc -b` and the pack see every package", () => {
    const copied = instructions.filter((i) => i.op === "COPY").flatMap((i) => i.args.slice(0, -1));
    const { workspaces } = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
      workspaces: string[];
    };
    expect(workspaces).toContain("packages/k8s");
    for (const w of workspaces)
      expect(
        copied.some((c) => w === c || w.startsWith(`${c.replace(/\/$/, "")}/`)),
        w,
      ).toBe(true);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN mkdir -p \/out && npx tsc -b\b/m);
  });

  it("runs the CLI the build writes, as the user the pods run as", () => {
    // the Jobs' args (run ..., k8s merge ...) go to the installed package's bin
    const entry = instructions.find((i) => i.op === "ENTRYPOINT");
    expect(entry?.args.join(" ")).toBe('["swarm"]');
    expect(dockerfile).toMatch(/^RUN npm install --global .*livekit-swarm\.tgz/m);
    const bin = JSON.parse(readFileSync(`${root}packages/livekit-swarm/package.json`, "utf8")) as {
      bin: Record<string, string>;
    };
    expect(Object.keys(bin.bin)).toContain("swarm");
    // the official node images' `node` user is uid 1000, which the pods' securityContext names
    expect(dockerfile).toMatch(/^FROM node:[\d.]+-bookworm-slim$/m);
    expect(instructions.filter((i) => i.op === "USER").map((i) => i.args[0])).toEqual(["node"]);
    const scenario = parseScenario("rooms: 2\n", "s.yaml");
    const { objects } = runManifests({
      scenario,
      scenarioText: "rooms: 2\n",
      shards: 2,
      image: "x",
      engine: "lean",
      namespace: "default",
      secret: "s",
      url: "wss://lk.example.com",
      runId: "r",
      startAt: new Date(0),
      now: new Date(0),
    });
    expect(objects.shards.spec.template.spec.securityContext.runAsUser).toBe(1000);
  });
});
