import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Testbed } from "@livekit-swarm/testbed";
import { embeddedEnv, freePort, startSwarm, testbedEnv, waitFor } from "@livekit-swarm/test-kit";

/** A LiveKit access token: a JWT, three base64url parts, the first two JSON objects ("eyJ" = `{"`). */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

/**
 * Files that must hold the secret: livekit-server reads its keys from its config, and the testbed
 * keeps its state (keys included) to be stopped later. They are checked to be private instead.
 */
const HOLDS_KEYS = /^(state(\.stopped)?\.json|.*\.ya?ml)$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/**
 * Every place under `dirs` (and the given texts) where the secret or a JWT shows; empty when clean.
 * `keysAllowed`: the state and configs of a testbed still to be stopped may hold them, private.
 */
function leaks(
  secret: string,
  dirs: readonly string[],
  texts: Record<string, string>,
  keysAllowed = true,
): string[] {
  const found: string[] = [];
  const check = (where: string, text: string): void => {
    if (text.includes(secret)) found.push(`${where}: the API secret`);
    const jwt = JWT.exec(text);
    if (jwt !== null) found.push(`${where}: a token ${jwt[0].slice(0, 24)}...`);
  };
  for (const [where, text] of Object.entries(texts)) check(where, text);
  for (const dir of dirs) {
    for (const file of filesUnder(dir)) {
      const name = relative(dir, file);
      if (keysAllowed && HOLDS_KEYS.test(name.split("/").pop() ?? "")) {
        const mode = statSync(file).mode & 0o777;
        if (mode & 0o077)
          found.push(`${name}: holds keys but is readable by others (mode ${mode.toString(8)})`);
        continue;
      }
      check(name, readFileSync(file, "latin1"));
    }
  }
  return found;
}

describe("no secret and no token in any artifact or log", () => {
  let tb: Testbed | undefined;
  afterAll(async () => {
    await tb?.stop();
  });

  it("a run against an embedded testbed: output folder, testbed logs, stdout and stderr", async () => {
    const root = mkdtempSync(join(tmpdir(), "swarm-secrets-root-"));
    const out = mkdtempSync(join(tmpdir(), "swarm-secrets-out-"));
    const run = startSwarm(
      ["--rooms", "2", "--subscribers", "2", "--duration", "5s", "-o", out],
      embeddedEnv(root),
    );
    // the secret the embedded testbed made, read while it runs: once it is down, no file keeps it
    let secret = "";
    await waitFor(
      () => {
        const [dir] = readdirSync(root);
        const state = JSON.parse(readFileSync(join(root, dir ?? "", "state.json"), "utf8")) as {
          apiSecret: string;
        };
        secret = state.apiSecret;
        return secret.length >= 32;
      },
      { timeoutMs: 60_000, debugName: `the embedded testbed's state.json under ${root}`, exited: run.exited },
    );
    const code = await run.exited;
    expect(code, run.stderr).toBe(0);
    expect(filesUnder(out).map((f) => relative(out, f))).toContain("summary.json");
    // its node's log and stopped state stay for a reader; its configs and the state's copy do not
    const [testbedDir] = readdirSync(root);
    expect(readdirSync(join(root, testbedDir ?? "")).sort()).toEqual(["node1.log", "state.stopped.json"]);
    expect(leaks(secret, [root, out], { stdout: run.stdout, stderr: run.stderr }, false)).toEqual([]);
  }, 240_000);

  it("a canary against three nodes behind the balancer, whose log names connections by token hash", async () => {
    const root = mkdtempSync(join(tmpdir(), "swarm-secrets-tb-"));
    tb = await Testbed.start({ name: "secrets", runDir: join(root, "secrets"), nodes: 3 });
    const port = await freePort();
    const out = mkdtempSync(join(tmpdir(), "swarm-secrets-canary-"));
    const run = startSwarm(["canary", "--metrics-port", String(port), "-o", out], testbedEnv(tb));
    try {
      // two joins through the balancer: each signalling connection is now in its log
      await waitFor(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const joins = text
            .split("\n")
            .filter((l) => l.startsWith("lkswarm_join_duration_seconds_count"))
            .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
          return joins >= 2;
        },
        { timeoutMs: 60_000, debugName: "the canary's two joins", intervalMs: 500 },
      );
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\ncanary stderr:\n${run.stderr}`);
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exited, run.stderr).toBe(130);
    const secret = tb.apiSecret;
    await tb.stop();
    tb = undefined;
    const balancerLog = filesUnder(root).find((f) => /haproxy.*\.log$/.test(f));
    expect(balancerLog, `no balancer log under ${root}`).toBeDefined();
    expect(readFileSync(balancerLog ?? "", "utf8")).toMatch(/token=[0-9A-F]{16}/);
    expect(leaks(secret, [root, out], { stdout: run.stdout, stderr: run.stderr })).toEqual([]);
  }, 240_000);
});
