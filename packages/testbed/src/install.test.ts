import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LIVEKIT_SERVER_VERSION } from "./binaries.js";
import { TestbedError } from "./errors.js";
import { LIVEKIT_SERVER_MODULE, ensureLivekitServer } from "./install.js";

const root = mkdtempSync(join(tmpdir(), "lkswarm-install-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A stand-in `go` that logs its arguments and GOBIN, then writes a `server` there (or fails). */
function fakeGo(name: string, exitCode = 0): { go: string; calls: () => string[] } {
  const log = join(root, `${name}.log`);
  const go = join(root, `${name}-go`);
  writeFileSync(
    go,
    `#!/bin/sh\necho "$* GOBIN=$GOBIN GOTOOLCHAIN=$GOTOOLCHAIN" >> ${log}\n` +
      (exitCode === 0
        ? `printf '#!/bin/sh\\necho livekit-server version ${LIVEKIT_SERVER_VERSION}\\n' > "$GOBIN/server"\nchmod +x "$GOBIN/server"\n`
        : `echo "go: module lookup disabled" >&2\nexit ${exitCode}\n`),
  );
  chmodSync(go, 0o755);
  return { go, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

describe("ensureLivekitServer", () => {
  it("builds the pinned version once into the tools folder, then finds it there without Go", async () => {
    const toolsBin = join(root, "cache", "livekit-swarm", "bin");
    const { go, calls } = fakeGo("ok");
    const said: string[] = [];
    const first = await ensureLivekitServer(undefined, { toolsBin, go, say: (l) => said.push(l) });
    expect(first).toBe(join(toolsBin, "livekit-server"));
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toContain(
      `install ${LIVEKIT_SERVER_MODULE}@v${LIVEKIT_SERVER_VERSION} GOBIN=${toolsBin}/.go-install-`,
    );
    expect(calls()[0]).toContain("GOTOOLCHAIN=local");
    expect(said.join("\n")).toContain("building it once with `go install`");
    // no half-built leftovers beside the binary
    expect(readdirSync(toolsBin)).toEqual(["livekit-server"]);

    const again = await ensureLivekitServer(undefined, {
      toolsBin,
      go: join(root, "no-go-here"),
      say: (l) => said.push(l),
    });
    expect(again).toBe(first);
    expect(calls()).toHaveLength(1);
    expect(said).toHaveLength(1);
  });

  it("without Go: one error naming the manual alternatives, nothing left in the folder", async () => {
    const toolsBin = join(root, "nogo", "bin");
    const error = await ensureLivekitServer(undefined, {
      toolsBin,
      go: join(root, "missing-go"),
      say: () => {},
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestbedError);
    const message = error instanceof Error ? error.message : "";
    expect(message).toContain("Go is not installed");
    expect(message).toContain("https://go.dev/dl");
    expect(message).toContain(
      `GOBIN=${toolsBin} go install ${LIVEKIT_SERVER_MODULE}@v${LIVEKIT_SERVER_VERSION}`,
    );
    expect(message).toContain("LIVEKIT_SERVER_BIN");
    expect(readdirSync(toolsBin)).toEqual([]);
  });

  it("a failed build says so with go's last lines", async () => {
    const toolsBin = join(root, "fails", "bin");
    const { go } = fakeGo("fails", 1);
    const error = await ensureLivekitServer(undefined, { toolsBin, go, say: () => {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TestbedError);
    expect(error instanceof TestbedError ? error.message : "").toContain("go install failed (exit 1)");
    expect(error instanceof TestbedError ? error.details : []).toEqual(["go: module lookup disabled"]);
  });

  it("never builds over an explicit path: a wrong one is reported", async () => {
    const { go, calls } = fakeGo("explicit");
    await expect(
      ensureLivekitServer("/nonexistent/livekit-server", { toolsBin: join(root, "explicit"), go }),
    ).rejects.toThrow("livekit-server not found at /nonexistent/livekit-server");
    expect(calls()).toEqual([]);
  });
});
