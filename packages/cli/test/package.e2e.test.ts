import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHROMIUM } from "@livekit-swarm/browser";
import { TOOL } from "@livekit-swarm/schema";
import { TOOLS_BIN, processesMentioning } from "@livekit-swarm/testbed";
import { swarm } from "@livekit-swarm/test-kit";

const run = promisify(execFile);
const PACKAGE_DIR = fileURLToPath(new URL("../../livekit-swarm/", import.meta.url));

// Outside the repository, so nothing resolves back into its sources or node_modules.
const work = mkdtempSync(join(tmpdir(), "lkswarm-package-"));
const project = join(work, "project");
const runRoot = join(work, "testbeds");
let installed = "";
/** What `npm install` of the tarball printed. */
let installLog = "";
let packed: PackEntry | undefined;

interface PackEntry {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

beforeAll(async () => {
  // `npm pack` runs prepack: the bundle of the workspace's built output (`npx tsc -b` first)
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: PACKAGE_DIR,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [pack] = JSON.parse(stdout.slice(stdout.indexOf("["))) as PackEntry[];
  if (pack === undefined) throw new Error(`npm pack printed no package: ${stdout}`);
  packed = pack;
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "probe", private: true }));
  // from the registry, as a user's install would; several minutes at worst on a cold npm cache
  const install = await run("npm", ["install", "--no-audit", "--no-fund", join(work, pack.filename)], {
    cwd: project,
    timeout: 150_000,
  });
  installLog = install.stdout + install.stderr;
  installed = join(project, "node_modules", "livekit-swarm", "dist", "cli.js");
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("the published package, installed from its tarball into an empty project", () => {
  it("holds the bundle, the ready-made scenarios and drills, the ICE scope's C source, README and LICENSE only", () => {
    const paths = (packed?.files ?? []).map((f) => f.path).sort();
    expect(paths).toEqual(
      expect.arrayContaining([
        "LICENSE",
        "README.md",
        "package.json",
        "dist/cli.js",
        "dist/worker.js",
        // the browser engine's page, prebuilt: the package has neither its sources nor livekit-client
        "dist/participant-e2ee-worker.js",
        "dist/participant-page.js",
        "scenarios/smoke.yaml",
        "scenarios/voice-ai.yaml",
        "scenarios/capacity/audio-2party.yaml",
        "chaos/kill-room-node.yaml",
        "tools/ice-scope/ice-scope.c",
        "tools/lean-media/lean-media.c",
      ]),
    );
    expect(
      paths.filter(
        (p) =>
          !/^(dist\/[^/]+\.js|scenarios\/([a-z0-9-]+\/){0,2}[a-z0-9_-]+\.(yaml|js)|chaos\/[a-z0-9-]+\.yaml|tools\/ice-scope\/ice-scope\.c|tools\/lean-media\/lean-media\.c|LICENSE|README\.md|package\.json)$/.test(
            p,
          ),
      ),
    ).toEqual([]);
    // no workspace package is a dependency: they are in the bundle
    const manifest = JSON.parse(
      readFileSync(join(project, "node_modules", "livekit-swarm", "package.json"), "utf8"),
    ) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies).filter((d) => d.startsWith("@livekit-swarm/"))).toEqual([]);
    expect(Object.values(manifest.dependencies).filter((v) => !/^\d+\.\d+\.\d+$/.test(v))).toEqual([]);
    expect(existsSync(join(project, "node_modules", "@livekit-swarm"))).toBe(false);
  });

  it(`installs with this Node (${process.version}) without an engine warning: every dependency supports the Node the package declares`, () => {
    expect(installLog).not.toMatch(/EBADENGINE|Unsupported engine/);
    const manifest = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(manifest.engines.node).toBe(">=20.19");
  });

  it("`npm publish --dry-run` of the packed tarball passes, as the release workflow runs it without a token", async () => {
    const { stdout, stderr } = await run(
      "npm",
      ["publish", "--dry-run", join(work, packed?.filename ?? "")],
      {
        cwd: work,
        timeout: 60_000,
      },
    );
    const out = stdout + stderr;
    expect(out).toContain(`livekit-swarm@${TOOL.version}`);
    expect(out).toMatch(/\(dry-run\)/);
  });

  it("`swarm scenarios` lists the ready-made scenarios and drills the package carries", async () => {
    const result = await swarm(["scenarios"], {}, 30_000, installed);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}voice-ai +Voice AI/m);
    expect(result.stdout).toMatch(/^ {2}capacity\/audio-2party +/m);
    expect(result.stdout).toMatch(/^ {2}kill-room-node +/m);
    expect(result.stdout).toContain(`from ${join(project, "node_modules", "livekit-swarm")}`);
  });

  it("`swarm --version` prints the published version, through the installed bin", async () => {
    const { stdout } = await run(join(project, "node_modules", ".bin", "swarm"), ["--version"], {
      cwd: project,
    });
    expect(stdout).toBe(`${TOOL.version}\n`);
  });

  it("`swarm --help` lists the commands", async () => {
    const result = await swarm(["--help"], {}, 30_000, installed);
    expect(result.code, result.stderr).toBe(0);
    for (const command of ["run", "canary", "gate", "compare", "testbed", "chaos"])
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
  });

  it("without livekit-server and without Go: one line naming the per-user folder and the manual ways", async () => {
    const cache = join(work, "cache");
    const result = await swarm(
      ["testbed", "up", "--name", "package-nogo"],
      {
        LIVEKIT_SWARM_TOOLS: "",
        LIVEKIT_SERVER_BIN: "",
        XDG_CACHE_HOME: cache,
        PATH: join(work, "empty-path"),
      },
      30_000,
      installed,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`not found at ${join(cache, "livekit-swarm", "bin", "livekit-server")}`);
    expect(result.stderr).toContain("Go is not installed");
    expect(result.stderr).toContain("LIVEKIT_SERVER_BIN");
  });

  it("runs 1 room against an embedded testbed that it starts and stops itself", async () => {
    // the installed package is pointed at the livekit-server setup built for this checkout
    // (LIVEKIT_SWARM_TOOLS, else .tools/bin), so it does not go install it again; the test above
    // covers the first-use path without it
    expect(existsSync(join(TOOLS_BIN, "livekit-server")), `${TOOLS_BIN}: run scripts/setup`).toBe(true);
    const output = join(work, "results");
    // a 1-room run: joins, 5 s held, the testbed's start and stop; 150 s leaves room for a busy machine
    const result = await swarm(
      ["--rooms", "1", "--duration", "5s", "--output", output],
      { LIVEKIT_SWARM_RUN_ROOT: runRoot, LIVEKIT_SWARM_TOOLS: TOOLS_BIN },
      150_000,
      installed,
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(output, "summary.json"), "utf8")) as {
      tool: { name: string; version: string };
      run: { endReason: string };
      participants: { planned: number; joined: number };
    };
    expect(summary.tool).toEqual({ name: "livekit-swarm", version: TOOL.version });
    expect(summary.run.endReason).toBe("completed");
    expect(summary.participants.joined).toBe(summary.participants.planned);
    expect(summary.participants.planned).toBeGreaterThan(0);
    expect(readdirSync(output)).toEqual(
      expect.arrayContaining(["summary.json", "report.html", "samples.jsonl"]),
    );
    expect(processesMentioning(runRoot)).toEqual([]);
  }, 180_000);

  it("runs a ready-made scenario by name (--scenario voice-ai), and a drill by name in a dry run", async () => {
    const output = join(work, "voice-ai-results");
    const result = await swarm(
      ["--scenario", "voice-ai", "--rooms", "2", "--duration", "10s", "--output", output],
      { LIVEKIT_SWARM_RUN_ROOT: runRoot, LIVEKIT_SWARM_TOOLS: TOOLS_BIN },
      150_000,
      installed,
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(output, "summary.json"), "utf8")) as {
      scenario: { name: string };
      participants: { planned: number; joined: number };
    };
    expect(summary.scenario.name).toBe("voice-ai");
    expect(summary.participants).toMatchObject({ planned: 4, joined: 4 });
    const drill = await swarm(["chaos", "run", "kill-room-node", "--dry-run"], {}, 30_000, installed);
    expect(drill.code, drill.stderr).toBe(0);
    expect(drill.stdout).toContain("kill-room-node");
    const unknown = await swarm(["--scenario", "voice-aii"], {}, 30_000, installed);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'run: --scenario "voice-aii": no such file, and no ready-made one of that name (ready-made: ',
    );
    expect(processesMentioning(runRoot)).toEqual([]);
  }, 180_000);

  const hasChromium = existsSync(DEFAULT_CHROMIUM);
  it.skipIf(!hasChromium)(
    `runs --engine browser from the installed package, two pages sharing one Chromium${hasChromium ? "" : ` [SKIPPED: needs ${DEFAULT_CHROMIUM} (scripts/setup)]`}`,
    async () => {
      const output = join(work, "browser-results");
      // two participants in one Chromium, 15 s held, the testbed's start and stop. The hold starts
      // after the ramp, not after the joins: with 5 s, a suite run whose machine was busy ended with
      // 0 of 2 joined (their joins usually take 2-3 s; a Chromium launch took 9.5 s at load 20
      // here), so 180 s leaves room for a busy machine
      const result = await swarm(
        [
          "--engine",
          "browser",
          "--rooms",
          "1",
          "--video-publishers",
          "0",
          "--subscribers",
          "1",
          "--pages-per-browser",
          "2",
          "--duration",
          "15s",
          "--output",
          output,
        ],
        { LIVEKIT_SWARM_RUN_ROOT: runRoot, LIVEKIT_SWARM_TOOLS: TOOLS_BIN },
        180_000,
        installed,
      );
      expect(result.code, result.stderr).toBe(0);
      const summary = JSON.parse(readFileSync(join(output, "summary.json"), "utf8")) as {
        run: { endReason: string; engine: string };
        participants: { planned: number; joined: number };
        tracks: { receiving: { audio: number } };
      };
      expect(summary.run.engine).toBe("browser");
      expect(summary.run.endReason).toBe("completed");
      expect(summary.participants).toMatchObject({ planned: 2, joined: 2 });
      // the subscriber's page heard the publisher's: the page's livekit-client ran from the package
      expect(summary.tracks.receiving.audio).toBe(1);
      expect(processesMentioning(runRoot)).toEqual([]);
    },
    240_000,
  );
});
