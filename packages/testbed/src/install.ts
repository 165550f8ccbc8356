import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LIVEKIT_SERVER_VERSION, TOOLS_BIN, findBinary } from "./binaries.js";
import { TestbedError } from "./errors.js";

export const LIVEKIT_SERVER_MODULE = "github.com/livekit/livekit-server/cmd/server";

export interface InstallOptions {
  /** Where the binary goes; default TOOLS_BIN (LIVEKIT_SWARM_TOOLS, the checkout's or the per-user folder). */
  readonly toolsBin?: string;
  /** The `go` command; default `go` on PATH. */
  readonly go?: string;
  /** Told once, before a build that takes minutes. */
  readonly say?: (line: string) => void;
}

function manualAlternative(toolsBin: string): string {
  return (
    `install Go 1.26+ (https://go.dev/dl) and run again, or build it once yourself with ` +
    `\`GOBIN=${toolsBin} go install ${LIVEKIT_SERVER_MODULE}@v${LIVEKIT_SERVER_VERSION}\` (the binary is named server: rename it livekit-server), ` +
    `or put a livekit-server v${LIVEKIT_SERVER_VERSION} release binary at ${join(toolsBin, "livekit-server")}, or set LIVEKIT_SERVER_BIN to one`
  );
}

function goInstall(
  go: string,
  gobin: string,
): Promise<{ code: number | null; stderr: string; missing: boolean }> {
  return new Promise((resolve) => {
    // GOTOOLCHAIN=local: a machine that reaches the module proxy may still not reach toolchain downloads
    const child = spawn(go, ["install", `${LIVEKIT_SERVER_MODULE}@v${LIVEKIT_SERVER_VERSION}`], {
      env: { ...process.env, GOBIN: gobin, GOTOOLCHAIN: "local" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.once("error", (err: NodeJS.ErrnoException) => {
      resolve({ code: null, stderr: err.message, missing: err.code === "ENOENT" });
    });
    child.once("close", (code) => {
      resolve({ code, stderr, missing: false });
    });
  });
}

/**
 * The pinned livekit-server: found as findBinary finds it, else built once with `go install` into
 * the tools folder, the way scripts/setup does, so a later run finds it there and builds nothing.
 * An explicit path or LIVEKIT_SERVER_BIN is never built over: a wrong one is reported.
 */
export async function ensureLivekitServer(explicit?: string, options: InstallOptions = {}): Promise<string> {
  const toolsBin = options.toolsBin ?? TOOLS_BIN;
  const pinnedElsewhere = explicit !== undefined || Boolean(process.env.LIVEKIT_SERVER_BIN);
  try {
    return options.toolsBin === undefined || pinnedElsewhere
      ? findBinary("livekit-server", explicit)
      : findBinary("livekit-server", join(toolsBin, "livekit-server"));
  } catch (err) {
    if (pinnedElsewhere || !(err instanceof TestbedError)) throw err;
  }
  const target = join(toolsBin, "livekit-server");
  (options.say ?? ((line) => process.stderr.write(`${line}\n`)))(
    `livekit-server v${LIVEKIT_SERVER_VERSION} is not installed: building it once with \`go install\` into ${toolsBin} (2-3 minutes and about 1 GB of Go caches; later runs reuse it)`,
  );
  mkdirSync(toolsBin, { recursive: true });
  // built beside its final place, then renamed: a concurrent run never sees half a binary
  const gobin = mkdtempSync(join(toolsBin, ".go-install-"));
  try {
    const result = await goInstall(options.go ?? "go", gobin);
    if (result.missing) {
      throw new TestbedError(
        "missing-binary",
        `livekit-server v${LIVEKIT_SERVER_VERSION} not found at ${target}, and Go is not installed to build it: ${manualAlternative(toolsBin)}`,
      );
    }
    if (result.code !== 0) {
      throw new TestbedError(
        "missing-binary",
        `building livekit-server v${LIVEKIT_SERVER_VERSION} with go install failed (exit ${String(result.code)}): ${manualAlternative(toolsBin)}`,
        result.stderr.trim().split("\n").slice(-10),
      );
    }
    renameSync(join(gobin, "server"), target);
    return target;
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}
