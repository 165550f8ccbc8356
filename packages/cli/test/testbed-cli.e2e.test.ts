import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { Testbed, TestbedError, down, isOurProcess, runDirFor, type RunState } from "@livekit-swarm/testbed";
import { swarm, leftovers } from "@livekit-swarm/test-kit";

const unique = (tag: string): string => `e2e-${tag}-${process.pid}-${Date.now().toString(36)}`;
const isRoot = process.getuid?.() === 0;
const TESTBED = fileURLToPath(new URL("../../testbed/dist/index.js", import.meta.url));

const started: string[] = [];
afterEach(async () => {
  for (const name of started.splice(0)) await down(runDirFor(name));
});

/** Starts a testbed from a separate controller process, which the test then SIGKILLs. */
function controller(name: string, nodes: number, netns: boolean): ReturnType<typeof spawn> {
  const script = `import(${JSON.stringify(TESTBED)}).then(async ({ Testbed }) => {
    await Testbed.start({ name: ${JSON.stringify(name)}, nodes: ${nodes}, netns: ${netns} });
    process.stdout.write("ready\\n");
    setInterval(() => {}, 1000);
  });`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

describe("swarm testbed: cleanup after the controller dies", () => {
  it.each([
    ["after the testbed is up", "up"],
    ["while the nodes are starting", "starting"],
  ] as const)(
    "SIGKILL of the controller %s, then `swarm testbed down`, leaves nothing running",
    async (_label, when) => {
      const name = unique(when);
      started.push(name);
      const runDir = runDirFor(name);
      const child = controller(name, 3, isRoot);
      if (when === "up") {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(new Error("controller never reported ready within 60 s"));
          }, 60_000);
          child.stdout?.on("data", (d: Buffer) => {
            if (d.toString().includes("ready")) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
      } else {
        // kill as soon as the state file names a livekit-server process: mid-start, nodes not yet ready
        const deadline = Date.now() + 60_000;
        for (;;) {
          const file = join(runDir, "state.json");
          const state = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as RunState) : undefined;
          if (state?.processes.some((p) => p.role === "livekit")) break;
          if (Date.now() > deadline) throw new Error("no livekit-server process was recorded within 60 s");
          await delay(20);
        }
      }
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      const before = JSON.parse(readFileSync(join(runDir, "state.json"), "utf8")) as RunState;
      expect(before.processes.length, "processes recorded before the kill").toBeGreaterThan(0);

      const result = await swarm(["testbed", "down", "--name", name]);
      expect(result.code, result.stderr).toBe(0);
      expect(leftovers(runDir)).toEqual([]);
    },
  );
});

describe("swarm testbed: a name used again", () => {
  it("up, down, then up with the same name starts afresh (down keeps its logs and forgets the secret; the folder stays the testbed's)", async () => {
    const name = unique("again");
    started.push(name);
    const first = await swarm(["testbed", "up", "--name", name]);
    expect(first.code, first.stderr).toBe(0);
    const stopped = await swarm(["testbed", "down", "--name", name]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(existsSync(join(runDirFor(name), "node1.log")), "down keeps the logs").toBe(true);
    // and forgets the secret: the node's config is gone, the stopped state's copy redacted
    expect(existsSync(join(runDirFor(name), "node1.yaml")), "the node's config, with the keys").toBe(false);
    const kept = JSON.parse(readFileSync(join(runDirFor(name), "state.stopped.json"), "utf8")) as RunState;
    expect(kept.apiSecret).toBe("REDACTED");
    const again = await swarm(["testbed", "up", "--name", name]);
    expect(again.code, again.stderr).toBe(0);
    const status = await swarm(["testbed", "status", "--name", name, "--json"]);
    expect(status.code, status.stderr).toBe(0);
  });
});

describe("swarm chaos rollback: a fault ledger corrupted by hand", () => {
  it.each([
    ["not JSON", "nope", /is not one a drill wrote: it is not JSON;/],
    [
      "entries that are not",
      '[{"kind":"bogus"},null,7]',
      /is not one a drill wrote: entry 1: fault absent does not match/,
    ],
  ])(
    "%s: one line naming the file and the fix, exit 1, and status still reads the testbed",
    async (_what, text, message) => {
      const name = unique("ledger");
      started.push(name);
      const up = await swarm(["testbed", "up", "--name", name]);
      expect(up.code, up.stderr).toBe(0);
      writeFileSync(join(runDirFor(name), "faults.json"), text);
      const rollback = await swarm(["chaos", "rollback", "--testbed", name]);
      expect(rollback.code).toBe(1);
      expect(rollback.stderr.trim().split("\n")).toHaveLength(1);
      expect(rollback.stderr).toMatch(message);
      expect(rollback.stderr).toContain("undo what it lists by hand");
      const status = await swarm(["testbed", "status", "--name", name]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/ledger +the fault ledger .* is not one a drill wrote/);
    },
  );
});

describe("swarm testbed down: a state.json edited by hand", () => {
  it("is refused in one line naming the field (down runs as root on what it names), and what names the folder still stops", async () => {
    const name = unique("state");
    started.push(name);
    const up = await swarm(["testbed", "up", "--name", name]);
    expect(up.code, up.stderr).toBe(0);
    const file = join(runDirFor(name), "state.json");
    const original = readFileSync(file, "utf8");
    const state = JSON.parse(original) as RunState;
    const livekit = state.processes.find((p) => p.role === "livekit");
    // another program's namespace: down would have deleted it
    writeFileSync(file, JSON.stringify({ ...state, namespaces: ["someone-elses"] }));
    const status = await swarm(["testbed", "status", "--name", name]);
    expect(status.code).toBe(1);
    expect(status.stderr.trim().split("\n")).toHaveLength(1);
    expect(status.stderr).toMatch(
      /state\.json: namespaces\[0\]: "someone-elses" is not a namespace the testbed makes/,
    );
    const gone = await swarm(["testbed", "down", "--name", name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim().split("\n")).toHaveLength(1);
    expect(gone.stderr).toMatch(
      /nothing it names was stopped or removed.*\(stopped what names the folder: unrecorded process \(pid \d+\)/,
    );
    // (a zombie until something reaps it: not running is what counts)
    expect(
      isOurProcess(livekit?.pid ?? -1, livekit?.startTime),
      `livekit-server ${JSON.stringify(livekit)} still runs`,
    ).toBe(false);
    // put back, so that the cleanup's down reads it (nothing of it runs any more)
    writeFileSync(file, original);
  });
});

describe("swarm testbed: bad input", () => {
  it("a missing livekit-server binary: exit 1, one line naming the fix", async () => {
    const result = await swarm(["testbed", "up", "--name", unique("nobin")], {
      LIVEKIT_SERVER_BIN: "/nonexistent/livekit-server",
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("livekit-server not found at /nonexistent/livekit-server");
    expect(result.stderr).toContain("npm run setup");
  });

  it("a port in use: exit 1, the port and the fix named, nothing started", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const name = unique("port");
      const result = await swarm(["testbed", "up", "--name", name, "--port", String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
      expect(result.stderr).toContain("--port");
      expect(existsSync(join(runDirFor(name), "state.json"))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it("a server that exits at start: the cause with its last log lines, nothing left running", async () => {
    const name = unique("exits");
    let caught: unknown;
    try {
      // livekit-server parses its config strictly: an unknown key makes it exit at once (with status 0)
      await Testbed.start({ name, nodes: 2, serverConfig: { no_such_option: true } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TestbedError);
    const err = caught as TestbedError;
    expect(err.reason).toBe("server-exited");
    expect(err.message).toMatch(/node\d health GET \/: the process exited \(\d+\) while starting/);
    expect(err.details.join("\n")).toContain("no_such_option");
    expect(leftovers(runDirFor(name))).toEqual([]);
  });

  it("a node whose port is taken after it was picked: re-picked, and given up on with the cause after 3 tries", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "0.0.0.0", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const name = unique("taken");
    let caught: unknown;
    try {
      // the override pins every attempt to the taken port, so each re-pick loses again
      await Testbed.start({ name, serverConfig: { rtc: { tcp_port: port } } });
    } catch (err) {
      caught = err;
    } finally {
      blocker.close();
    }
    expect(caught).toBeInstanceOf(TestbedError);
    const err = caught as TestbedError;
    expect(err.reason).toBe("port-in-use");
    expect(err.message).toContain("address already in use");
    expect(err.details.join("\n")).toContain(`:${port}`);
    const state = JSON.parse(readFileSync(join(runDirFor(name), "state.stopped.json"), "utf8")) as RunState;
    expect(
      state.processes.filter((p) => p.role === "livekit"),
      "three attempts",
    ).toHaveLength(3);
    expect(leftovers(runDirFor(name))).toEqual([]);
  });

  it("an unknown action or a malformed option: exit 1 with the fix", async () => {
    const bogus = await swarm(["testbed", "sideways"]);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toContain('expected an action (up, status, env, down), got "sideways"');
    const nodes = await swarm(["testbed", "up", "--nodes", "three"]);
    expect(nodes.code).toBe(1);
    expect(nodes.stderr).toContain('--nodes: expected an integer, got "three"');
  });
});
