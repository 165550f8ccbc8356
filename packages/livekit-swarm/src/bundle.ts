/**
 * Builds the published package: the workspace packages' built output (`tsc -b` first) bundled by
 * esbuild into dist/, two entry points (the CLI, and the worker the orchestrator forks by its path
 * beside it); every third-party import stays an import, installed from `dependencies` at the exact
 * version the workspace was tested with (rtc-node carries a native binary per platform, which no
 * bundle could hold). Run by `npm pack` (prepack); `--write-dependencies` rewrites the pins.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";
import { packageOf, pinProblems } from "./pins.js";
import { versionIn } from "./tool-module.js";

const PACKAGE_DIR = fileURLToPath(new URL("../", import.meta.url));
const PACKAGES = join(PACKAGE_DIR, "..");
const ROOT = join(PACKAGES, "..");

const ENTRY_POINTS = {
  cli: join(PACKAGES, "cli/dist/cli.js"),
  worker: join(PACKAGES, "load/dist/run/worker.js"),
};

/**
 * Packages whose files are read at run time through `require.resolve`, which esbuild cannot see:
 * uPlot's script and stylesheet, inlined into every report.html (load/src/report/assets.ts).
 */
const READ_AT_RUN_TIME = ["uplot"];

/** Our packages are bundled; any other bare import is left to npm. */
const thirdPartyExternal: Plugin = {
  name: "third-party-external",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@livekit-swarm/") ? undefined : { path: args.path, external: true },
    );
  },
};

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

class PinsOutOfDate extends Error {
  override readonly name = "PinsOutOfDate";
}

async function bundle(writeDependencies: boolean): Promise<void> {
  const dist = join(PACKAGE_DIR, "dist");
  rmSync(dist, { recursive: true, force: true });
  const result = await build({
    entryPoints: ENTRY_POINTS,
    outdir: dist,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    plugins: [thirdPartyExternal],
    metafile: true,
    logLevel: "warning",
  });
  const tested: Record<string, string> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path, external } of output.imports) {
      const name = external ? packageOf(path) : undefined;
      if (name !== undefined) tested[name] = versionIn(join(ROOT, "node_modules", name, "package.json"));
    }
  }
  for (const name of READ_AT_RUN_TIME)
    tested[name] = versionIn(join(ROOT, "node_modules", name, "package.json"));
  const manifestPath = join(PACKAGE_DIR, "package.json");
  const manifest = readJson(manifestPath);
  if (typeof manifest !== "object" || manifest === null) throw new Error(`${manifestPath} is not an object`);
  const declared =
    "dependencies" in manifest && typeof manifest.dependencies === "object" && manifest.dependencies !== null
      ? Object.fromEntries(Object.entries(manifest.dependencies).map(([k, v]) => [k, String(v)]))
      : {};
  const problems = pinProblems(declared, tested);
  if (problems.length > 0 && writeDependencies) {
    const sorted = Object.fromEntries(Object.entries(tested).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(manifestPath, `${JSON.stringify({ ...manifest, dependencies: sorted }, null, 2)}\n`);
  } else if (problems.length > 0) {
    throw new PinsOutOfDate(
      `packages/livekit-swarm/package.json dependencies differ from what the bundle imports:\n  ${problems.join("\n  ")}\n` +
        "run `npm run bundle:pins` (then `npm install`) to pin them to the workspace's installed versions",
    );
  }
  await writePage(dist);
  copyFileSync(join(ROOT, "LICENSE"), join(PACKAGE_DIR, "LICENSE"));
  shipReadyMade();
}

/**
 * What the package carries beside its bundle, as a clone has it: the ready-made scenarios (with
 * the k6 storm scripts) and chaos drills, usable by name (cli/src/ready-made.ts), and the C
 * sources built with cc on first use: the ICE scope's (load/src/run/ice-scope.ts) and the lean
 * engine's native media path (lean/src/native-media.ts).
 */
export const SHIPPED = [
  "scenarios",
  "chaos",
  "tools/ice-scope/ice-scope.c",
  "tools/lean-media/lean-media.c",
] as const;

function shipReadyMade(): void {
  for (const path of SHIPPED) {
    const target = join(PACKAGE_DIR, path);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(join(target, ".."), { recursive: true });
    cpSync(join(ROOT, path), target, { recursive: true });
  }
}

/**
 * The browser engine's page (livekit-client, the pattern, the page code), bundled for the browser by
 * the browser package's own build step, run by path as the CLI is, and shipped prebuilt: the
 * published package has neither the page's sources nor livekit-client to bundle it at run time.
 */
async function writePage(dist: string): Promise<void> {
  const browser = (await import(pathToFileURL(join(PACKAGES, "browser/dist/bundle.js")).href)) as {
    readonly PREBUILT_PAGE: string;
    readonly PREBUILT_E2EE_WORKER: string;
    bundlePage(): Promise<string>;
    bundleE2eeWorker(): Promise<string>;
  };
  writeFileSync(join(dist, browser.PREBUILT_PAGE), await browser.bundlePage());
  writeFileSync(join(dist, browser.PREBUILT_E2EE_WORKER), await browser.bundleE2eeWorker());
}

bundle(process.argv.includes("--write-dependencies")).catch((err: unknown) => {
  process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
