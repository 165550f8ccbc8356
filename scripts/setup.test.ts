import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SERVER = join(ROOT, ".tools", "bin", "livekit-server");
const hasCc = spawnSync("sh", ["-c", "command -v cc"]).status === 0;
const ready = existsSync(SERVER) && hasCc;
const skipped = ready ? "" : " [SKIPPED: needs setup's livekit-server in .tools/bin and a C compiler]";

const tools = mkdtempSync(join(tmpdir(), "setup-tools-"));
afterAll(() => {
  rmSync(tools, { recursive: true, force: true });
});

const setup = (...args: string[]): { code: number | null; out: string } => {
  const r = spawnSync("bash", [join(ROOT, "scripts/setup"), ...args], {
    env: { ...process.env, LIVEKIT_SWARM_TOOLS: tools },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
};

describe("scripts/setup --demo: what the demo needs, one line per item, nothing the second time", () => {
  it.skipIf(!ready)(
    `installs the ICE scope library beside an existing livekit-server, and no test tool${skipped}`,
    () => {
      // the pinned livekit-server is there already (a link to this checkout's): only libice-scope.so is missing
      symlinkSync(SERVER, join(tools, "livekit-server"));
      const first = setup("--demo");
      expect(first.code, first.out).toBe(0);
      expect(first.out).toContain("setup: installed:\nsetup:   libice-scope.so\n");
      expect(first.out).not.toMatch(/k6|actionlint|k8s-validate|lkswarm-delay|Kubernetes/);
      expect(existsSync(join(tools, "libice-scope.so"))).toBe(true);
      expect(existsSync(join(tools, "k6"))).toBe(false);
      const again = setup("--demo");
      expect(again.code, again.out).toBe(0);
      expect(again.out).toContain("setup: everything the demo needs is in place");
      expect(again.out).not.toContain("installed:");
    },
  );

  it("refuses an unknown option in one line naming the known ones", () => {
    const r = setup("--demos");
    expect(r.code).toBe(2);
    expect(r.out).toBe(
      "setup: unknown option --demos (known: --demo, only what the demo needs; --kubernetes, which also builds the cluster testbed and installs Docker for the compose stack)\n",
    );
  });
});
