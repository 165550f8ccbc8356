import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { down, listTestbeds, processesMentioning } from "@livekit-swarm/testbed";
import { CLI, embeddedEnv } from "@livekit-swarm/test-kit";

/**
 * A corpus of careless and hostile input. Each case must end with its documented exit code and one
 * line naming the problem (plus optional indented detail lines), never a stack trace, never a whole
 * echoed value, and leave nothing behind: no process, no testbed, no file in the working folder.
 */
interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly code: number;
  /** What the first line of stderr must say. */
  readonly says: RegExp;
  readonly env?: NodeJS.ProcessEnv;
  /** A warning line (`swarm: warning: ...`) the case must print; without it, none may show. */
  readonly warns?: RegExp;
}

const FILES = mkdtempSync(join(tmpdir(), "swarm-hostile-files-"));
const f = (name: string): string => join(FILES, name);
const HUGE = "x".repeat(10 * 1024 * 1024);
const UNREACHABLE = "ws://127.0.0.1:1";
const KEYS = ["--api-key", "devkey", "--api-secret", "a-secret-that-must-never-be-printed-0123456789"];
const GATE = ["gate", "--prometheus", "http://127.0.0.1:1"];
const T = ["--threshold", "lkswarm_join_duration_seconds p95 < 1s"];
const SECRET_FILE = ["--url", UNREACHABLE, "--api-key", "devkey", "--api-secret-file"];
const RTL = "\u202e";
/** What a secret typed on the command line (KEYS) prints once the target is accepted. */
const TYPED_SECRET = /--api-secret on the command line .* LIVEKIT_API_SECRET or pass --api-secret-file/;

const CASES: readonly Case[] = [
  // numbers out of range
  { name: "negative rooms", args: ["--rooms", "-1"], code: 1, says: /--rooms/ },
  { name: "zero rooms", args: ["--rooms", "0"], code: 1, says: /--rooms/ },
  { name: "a billion rooms", args: ["--rooms", "1e9"], code: 1, says: /--rooms/ },
  { name: "rooms not a number", args: ["--rooms", "ten"], code: 1, says: /--rooms/ },
  { name: "fractional rooms", args: ["--rooms", "1.5"], code: 1, says: /--rooms/ },
  { name: "zero workers", args: ["--workers", "0"], code: 1, says: /--workers/ },
  { name: "negative workers", args: ["--workers", "-1"], code: 1, says: /--workers/ },
  { name: "metrics port too high", args: ["--metrics-port", "99999"], code: 1, says: /--metrics-port/ },
  { name: "metrics port negative", args: ["--metrics-port", "-1"], code: 1, says: /--metrics-port/ },
  { name: "metrics port text", args: ["--metrics-port", "http"], code: 1, says: /--metrics-port/ },
  { name: "negative duration", args: ["--duration", "-5s"], code: 1, says: /--duration|duration/ },
  { name: "duration not a duration", args: ["--duration", "forever"], code: 1, says: /duration/ },
  {
    name: "zero join rate",
    args: ["--num-per-second", "0"],
    code: 1,
    says: /--num-per-second|num-per-second/,
  },
  { name: "negative join rate", args: ["--num-per-second", "-3"], code: 1, says: /num-per-second/ },
  { name: "zero fps", args: ["--video-fps", "0"], code: 1, says: /fps/ },
  { name: "absurd fps", args: ["--video-fps", "100000"], code: 1, says: /fps/ },
  { name: "absurd resolution", args: ["--video-resolution", "99999x1"], code: 1, says: /resolution/ },
  { name: "unknown codec", args: ["--video-codec", "mpeg2"], code: 1, says: /codec/ },
  { name: "negative subscribers", args: ["--subscribers", "-2"], code: 1, says: /subscribers/ },
  {
    name: "more browser probes than subscribers",
    args: ["--subscribers", "1", "--browser-probes", "3"],
    code: 1,
    says: /browser-probes: expected at most subscribers \(1\).*raise subscribers or lower browser-probes, got 3/,
  },
  {
    name: "participants over the ceiling",
    args: ["--rooms", "5000", "--subscribers", "100"],
    code: 1,
    says: /participants|rooms/,
  },
  { name: "zero stats interval", args: ["--stats-interval", "0"], code: 1, says: /stats-interval/ },
  // misspellings and stray words
  {
    name: "misspelt option",
    args: ["--romos", "5"],
    code: 1,
    says: /--romos.*did you mean --rooms|did you mean --rooms/,
  },
  { name: "misspelt command", args: ["rnu"], code: 1, says: /rnu.*did you mean run|did you mean run/ },
  { name: "extra positional word", args: ["run", "fast"], code: 1, says: /fast/ },
  { name: "option without its value", args: ["--rooms"], code: 1, says: /--rooms/ },
  {
    name: "canary option misspelt names canary",
    args: ["canary", "--romo", "x"],
    code: 1,
    says: /canary|--romo/,
  },
  // the server and keys
  { name: "ftp URL", args: ["--url", "ftp://127.0.0.1", ...KEYS], code: 1, says: /ws:\/\/|wss:\/\/|http/ },
  {
    name: "port out of range in the URL",
    args: ["--url", "ws://127.0.0.1:99999", ...KEYS],
    code: 1,
    // the URL is checked whole before the keys are read: no warning about them follows
    says: /--url "ws:\/\/127\.0\.0\.1:99999": not a URL: expected a host, and a port from 1 to 65535/,
  },
  {
    name: "unreachable server",
    args: ["--url", UNREACHABLE, ...KEYS, "--duration", "2s"],
    code: 1,
    says: /reach|connect/,
    warns: TYPED_SECRET,
  },
  { name: "URL without keys", args: ["--url", UNREACHABLE], code: 1, says: /api-key|LIVEKIT_API_KEY/ },
  { name: "keys without a URL", args: KEYS, code: 1, says: /--url/ },
  {
    name: "empty env vars mean unset",
    args: ["--url", UNREACHABLE],
    env: { LIVEKIT_API_KEY: "", LIVEKIT_API_SECRET: "" },
    code: 1,
    says: /api-key|LIVEKIT_API_KEY/,
  },
  // files
  { name: "missing scenario", args: ["--scenario", "/nonexistent/s.yaml"], code: 1, says: /s\.yaml/ },
  { name: "scenario is a folder", args: ["--scenario", FILES], code: 1, says: /folder|directory/ },
  { name: "empty scenario", args: ["--scenario", f("empty.yaml")], code: 1, says: /empty\.yaml/ },
  { name: "binary scenario", args: ["--scenario", f("binary.yaml")], code: 1, says: /binary\.yaml/ },
  { name: "null scenario", args: ["--scenario", f("null.yaml")], code: 1, says: /null\.yaml/ },
  { name: "scenario is a list", args: ["--scenario", f("list.yaml")], code: 1, says: /list\.yaml/ },
  { name: "unknown scenario key", args: ["--scenario", f("roomz.yaml")], code: 1, says: /roomz.*rooms/ },
  { name: "scenario value of the wrong type", args: ["--scenario", f("ten.yaml")], code: 1, says: /rooms/ },
  { name: "huge scenario value", args: ["--scenario", f("huge.yaml")], code: 1, says: /huge\.yaml/ },
  { name: "malformed YAML", args: ["--scenario", f("broken.yaml")], code: 1, says: /broken\.yaml/ },
  // thresholds
  { name: "garbage threshold", args: ["--threshold", "fast please"], code: 1, says: /threshold/ },
  {
    name: "negative threshold",
    args: ["--threshold", "lkswarm_join_duration_seconds p95 < -1s"],
    code: 1,
    says: /negative/,
  },
  { name: "huge threshold", args: ["--threshold", HUGE.slice(0, 100_000)], code: 1, says: /threshold/ },
  { name: "unknown gate preset", args: ["--gate", "strict"], code: 1, says: /--gate/ },
  // output
  { name: "output is an existing file", args: ["-o", f("empty.yaml")], code: 1, says: /-o|--output|output/ },
  // gate
  {
    name: "gate without prometheus",
    args: ["gate", ...T, "--summary", f("summary.json")],
    code: 1,
    says: /--prometheus/,
  },
  {
    name: "gate with an ftp prometheus",
    args: ["gate", "--prometheus", "ftp://x", "--summary", f("summary.json"), ...T],
    code: 1,
    says: /HTTP/,
  },
  {
    name: "gate summary missing",
    args: [...GATE, "--summary", "/nonexistent/summary.json", ...T],
    code: 1,
    says: /summary\.json/,
  },
  {
    name: "gate summary is a folder",
    args: [...GATE, "--summary", FILES, ...T],
    code: 1,
    says: /folder|directory/,
  },
  {
    name: "gate summary not JSON",
    args: [...GATE, "--summary", f("broken.yaml"), ...T],
    code: 1,
    says: /JSON|broken\.yaml/,
  },
  {
    name: "gate summary is null",
    args: [...GATE, "--summary", f("null.json"), ...T],
    code: 1,
    says: /null\.json/,
  },
  {
    name: "gate summary without a run id",
    args: [...GATE, "--summary", f("other.json"), ...T],
    code: 1,
    says: /other\.json.*not a swarm summary/,
  },
  {
    name: "gate thresholds file missing",
    args: [...GATE, "--summary", f("summary.json"), "--thresholds", "/nonexistent/t.yaml"],
    code: 1,
    says: /t\.yaml/,
  },
  {
    name: "gate without thresholds",
    args: [...GATE, "--summary", f("summary.json")],
    code: 1,
    says: /threshold/,
  },
  {
    name: "gate with a bad time",
    args: [...GATE, "--run-id", "x", "--from", "yesterday", ...T],
    code: 1,
    says: /--from|yesterday/,
  },
  {
    name: "gate hostile run id is escaped, then Prometheus is unreachable",
    args: [...GATE, "--run-id", 'x"} or vector(1) #', "--from", "5m", ...T],
    code: 1,
    says: /reach/,
  },
  // testbed
  { name: "testbed name climbing out", args: ["testbed", "up", "--name", "../x"], code: 1, says: /name/ },
  { name: "testbed name empty", args: ["testbed", "up", "--name", ""], code: 1, says: /name/ },
  { name: "testbed name with a slash", args: ["testbed", "up", "--name", "a/b"], code: 1, says: /name/ },
  { name: "testbed port negative", args: ["testbed", "up", "--port", "-1"], code: 1, says: /--port/ },
  { name: "testbed port too high", args: ["testbed", "up", "--port", "99999"], code: 1, says: /--port/ },
  { name: "testbed without nodes", args: ["testbed", "up", "--nodes", "0"], code: 1, says: /--nodes/ },
  {
    name: "testbed with a thousand nodes",
    args: ["testbed", "up", "--nodes", "1000"],
    code: 1,
    says: /--nodes/,
  },
  {
    name: "testbed down climbing out",
    args: ["testbed", "down", "--name", "../../etc"],
    code: 1,
    says: /name/,
  },
  { name: "testbed unknown subcommand", args: ["testbed", "frobnicate"], code: 1, says: /frobnicate/ },
  // chaos
  { name: "chaos without a drill", args: ["chaos"], code: 1, says: /drill/ },
  { name: "chaos drill missing", args: ["chaos", "run", "/nonexistent/d.yaml"], code: 1, says: /d\.yaml/ },
  { name: "chaos drill is a folder", args: ["chaos", "run", FILES], code: 1, says: /folder|directory/ },
  { name: "chaos drill empty", args: ["chaos", "run", f("empty.yaml")], code: 1, says: /empty\.yaml/ },
  { name: "chaos drill binary", args: ["chaos", "run", f("binary.yaml")], code: 1, says: /binary\.yaml/ },
  {
    name: "chaos drill with an unknown fault",
    args: ["chaos", "run", f("drill-unknown-fault.yaml")],
    code: 1,
    says: /melt/,
  },
  // round 2: paths, secrets, bounds, unicode
  {
    name: "output folder inside /proc (Node's mkdir -p spun forever there)",
    args: ["-o", "/proc/self/swarm-out", "--duration", "1s"],
    code: 1,
    says: /output folder \/proc\/self\/swarm-out cannot be created/,
  },
  {
    name: "output folder through a symbolic link loop",
    args: ["-o", join(f("loop-a"), "out"), "--duration", "1s"],
    code: 1,
    says: /output folder .*loop-a\/out cannot be used \(ELOOP/,
  },
  {
    name: "output folder under a file",
    args: ["-o", join(f("empty.yaml"), "out"), "--duration", "1s"],
    code: 1,
    says: /output folder .*empty\.yaml\/out cannot be used \(ENOTDIR/,
  },
  {
    name: "empty output (an unset variable)",
    args: ["-o", "", "--duration", "1s"],
    code: 1,
    says: /--output: empty/,
  },
  {
    name: "secret file missing",
    args: [...SECRET_FILE, "/nonexistent/secret"],
    code: 1,
    says: /--api-secret-file "\/nonexistent\/secret": no such file/,
  },
  {
    name: "secret file is a folder",
    args: [...SECRET_FILE, FILES],
    code: 1,
    says: /--api-secret-file .*: is a directory/,
  },
  {
    name: "secret file empty",
    args: [...SECRET_FILE, f("empty.yaml")],
    code: 1,
    says: /--api-secret-file .*empty\.yaml": is empty/,
  },
  {
    name: "secret file binary",
    args: [...SECRET_FILE, f("binary.yaml")],
    code: 1,
    says: /--api-secret-file .*binary\.yaml": is (binary|larger)/,
  },
  {
    name: "secret file huge",
    args: [...SECRET_FILE, f("huge.yaml")],
    code: 1,
    says: /--api-secret-file .*huge\.yaml": is larger than 4096 bytes/,
  },
  {
    name: "secret file of two lines (a .env file)",
    args: [...SECRET_FILE, f("two-lines.env")],
    code: 1,
    says: /two-lines\.env": holds more than one line/,
  },
  {
    name: "secret file is a symbolic link loop",
    args: [...SECRET_FILE, f("loop-a")],
    code: 1,
    says: /loop-a": is a symbolic link loop/,
  },
  {
    name: "secret as a flag and a file",
    args: [...SECRET_FILE, f("secret"), "--api-secret", "x"],
    code: 1,
    says: /--api-secret and --api-secret-file were both given/,
  },
  {
    name: "an eleven-year hold",
    args: ["--duration", "99999h"],
    code: 1,
    says: /--duration: .*at most 168h/,
  },
  {
    name: "an eleven-year hold in a file",
    args: ["--scenario", f("hold.yaml")],
    code: 1,
    says: /hold\.yaml: duration: .*at most 168h/,
  },
  {
    name: "a join every 30 years",
    args: ["--num-per-second", "1e-9"],
    code: 1,
    says: /--num-per-second: expected a number from 0\.01 to 1000/,
  },
  {
    name: "a join every 30 years in a file",
    args: ["--scenario", f("slow.yaml")],
    code: 1,
    says: /slow\.yaml: num-per-second: .*0\.01 to 1000/,
  },
  {
    name: "a ramp that outlasts a week",
    args: ["--rooms", "100", "--subscribers", "99", "--num-per-second", "0.01"],
    code: 1,
    says: /joining 10000 participants at 0\.01 per second takes 277h46m40s/,
  },
  {
    name: "a stats interval of two hours",
    args: ["--stats-interval", "2h"],
    code: 1,
    says: /--stats-interval: expected a duration from 200ms to 1m/,
  },
  {
    name: "a linger of an hour",
    args: ["--linger", "1h"],
    code: 1,
    says: /--linger: expected a duration from 0s to 10m/,
  },
  {
    name: "a threshold abort window of eleven years",
    args: ["--threshold", "lkswarm_join_duration_seconds p95 < 1s abort=99999h"],
    code: 1,
    says: /abort: .*at most 168h/,
  },
  {
    name: "gate window from eleven years ago",
    args: [...GATE, "--run-id", "x", "--from", "99999h", ...T],
    code: 1,
    says: /--from: .*at most 168h/,
  },
  {
    name: "drill fault at 99999h",
    args: ["chaos", "run", f("drill-late.yaml"), "--dry-run"],
    code: 1,
    says: /faults\[0\]\.at: .*at most 168h/,
  },
  {
    name: "client.simulate force-tcp drill on lean participants (lean has no ICE over TCP)",
    args: ["chaos", "run", f("drill-lean-tcp.yaml"), "--dry-run"],
    code: 1,
    says: /engine mixed: the lean engine cannot simulate force-tcp \(it acts out signal-reconnect, .*\): run the drill's workload with engine native/,
  },
  {
    name: "drill fault at 1e308s",
    args: ["chaos", "run", f("drill-1e308.yaml"), "--dry-run"],
    code: 1,
    says: /faults\[0\]\.at: expected a duration/,
  },
  { name: "hex rooms", args: ["--rooms", "0x10"], code: 1, says: /--rooms: expected an integer, got "0x10"/ },
  {
    name: "testbed name a..b says why",
    args: ["testbed", "up", "--name", "a..b"],
    code: 1,
    says: /testbed name "a\.\.b" contains "\.\."/,
  },
  {
    name: "testbed name of 300 characters",
    args: ["testbed", "up", "--name", "a".repeat(300)],
    code: 1,
    says: /is 300 characters long/,
  },
  {
    name: "testbed name with a right-to-left override",
    args: ["testbed", "up", "--name", `abc${RTL}gnp`],
    code: 1,
    says: /contains "\\u\{202e\}"/,
  },
  {
    name: "room prefix with a right-to-left override",
    args: ["--room-prefix", `room${RTL}x`],
    code: 1,
    says: /room-prefix: .*\\u\{202e\}/,
  },
  {
    name: "identity prefix with a NUL in a file",
    args: ["--scenario", f("nul.yaml")],
    code: 1,
    says: /nul\.yaml: identity-prefix: .*\\u0000/,
  },
  {
    name: "chaos rollback of a path",
    args: ["chaos", "rollback", "--testbed", "../x"],
    code: 1,
    says: /testbed name "\.\.\/x" contains "\/"/,
  },
  {
    name: "URL with a password in it",
    args: [
      "--url",
      "ws://devkey:a-secret-that-must-never-be-printed-0123456789@127.0.0.1:1",
      "--api-key",
      "k",
      "--api-secret-file",
      f("secret"),
    ],
    code: 1,
    says: /--url: remove the user:password@ part/,
  },
  {
    name: "LIVEKIT_URL pasted with spaces",
    args: ["--duration", "1s"],
    env: { LIVEKIT_URL: " ws://127.0.0.1:7880 ", LIVEKIT_API_KEY: "k", LIVEKIT_API_SECRET: "s" },
    code: 1,
    says: /LIVEKIT_URL " ws:\/\/127\.0\.0\.1:7880 ": whitespace or a control character in it/,
  },
  {
    name: "LIVEKIT_URL with a newline into k8s render (reported as --url's before)",
    args: [
      "k8s",
      "render",
      "--scenario",
      "smoke",
      "--shards",
      "2",
      "--image",
      "lkswarm:dev",
      "--run-id",
      "hx1",
    ],
    env: { LIVEKIT_URL: "wss://lk.example.com\nkind: Evil" },
    code: 1,
    says: /k8s render: LIVEKIT_URL "wss:\/\/lk\.example\.com\\nkind: Evil": whitespace or a control character in it: pass/,
  },
  {
    name: "pushgateway over ftp (refused after the run before)",
    args: ["--pushgateway", "ftp://x"],
    code: 1,
    says: /--pushgateway: expected an http/,
  },
  {
    name: "scenario that never ends (/dev/zero filled 512 MB before)",
    args: ["--scenario", "/dev/zero"],
    code: 1,
    says: /\/dev\/zero: cannot read scenario: is larger than 1 MiB/,
  },
  {
    name: "drill that never ends",
    args: ["chaos", "run", "/dev/zero", "--dry-run"],
    code: 1,
    says: /\/dev\/zero: cannot read drill: is larger than 1 MiB/,
  },
  {
    name: "scenario is a symbolic link loop",
    args: ["--scenario", f("loop-a")],
    code: 1,
    says: /loop-a: cannot read scenario: is a symbolic link loop/,
  },
  {
    name: "testbed name checked before looking for livekit-server (the binary's absence was the message)",
    args: ["testbed", "up", "--name", "a..b"],
    env: { LIVEKIT_SWARM_TOOLS: "/nonexistent" },
    code: 1,
    says: /testbed name "a\.\.b" contains "\.\."/,
  },
];

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runIn(cwd: string, root: string, c: Case): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...c.args], {
      cwd,
      env: { ...process.env, ...embeddedEnv(root), ...c.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    // a case that hangs is a failure, not a stuck suite
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const tables = (): string => execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
const namespaces = (): string => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });

describe(`hostile input: ${CASES.length} cases, each one clear line and nothing left behind`, () => {
  let tablesBefore = "";
  let namespacesBefore = "";
  beforeAll(() => {
    tablesBefore = tables();
    namespacesBefore = namespaces();
    writeFileSync(f("empty.yaml"), "");
    writeFileSync(f("binary.yaml"), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 256)));
    writeFileSync(f("null.yaml"), "null\n");
    writeFileSync(f("list.yaml"), "- rooms: 1\n");
    writeFileSync(f("roomz.yaml"), "roomz: 3\n");
    writeFileSync(f("ten.yaml"), "rooms: ten\n");
    writeFileSync(f("huge.yaml"), `name: ${HUGE}\nrooms: nope\n`);
    writeFileSync(f("broken.yaml"), "rooms: [1, 2\n  : : :\n");
    writeFileSync(f("null.json"), "null");
    writeFileSync(f("other.json"), JSON.stringify({ hello: "world" }));
    writeFileSync(
      f("summary.json"),
      JSON.stringify({
        run: { id: "20261122-0000-abcd", startedAt: "2026-11-22T00:00:00Z", endedAt: "2026-11-22T00:05:00Z" },
      }),
    );
    writeFileSync(f("two-lines.env"), "LIVEKIT_API_KEY=k\nLIVEKIT_API_SECRET=s\n");
    writeFileSync(f("secret"), "a-secret-that-must-never-be-printed-0123456789\n", { mode: 0o600 });
    symlinkSync(f("loop-b"), f("loop-a"));
    symlinkSync(f("loop-a"), f("loop-b"));
    writeFileSync(f("hold.yaml"), "duration: 99999h\n");
    writeFileSync(f("slow.yaml"), "num-per-second: 1e-9\n");
    writeFileSync(f("nul.yaml"), 'identity-prefix: "a\\0b"\n');
    writeFileSync(
      f("drill-late.yaml"),
      "name: late\nworkload: { rooms: 1 }\nfaults:\n  - { at: 99999h, type: node.kill }\n",
    );
    writeFileSync(
      f("drill-1e308.yaml"),
      "name: far\nworkload: { rooms: 1 }\nfaults:\n  - { at: 1e308s, type: node.kill }\n",
    );
    writeFileSync(
      f("drill-lean-tcp.yaml"),
      "name: wires\nworkload: { rooms: 1, engine: mixed }\nfaults:\n  - { at: 5s, type: client.simulate, scenario: force-tcp, target: { participants: 50% } }\n",
    );
    writeFileSync(
      f("drill-unknown-fault.yaml"),
      "name: melt\nworkload: { rooms: 1 }\nfaults:\n  - { at: 5s, type: melt-node }\n",
    );
  });

  afterAll(() => {
    expect(tables(), "nft tables changed").toBe(tablesBefore);
    expect(namespaces(), "network namespaces changed").toBe(namespacesBefore);
  });

  // each case has its own working folder and run root, so they run a few at a time: most of a
  // case is a CLI process starting and stopping
  for (const c of CASES)
    it.concurrent(
      c.name,
      async ({ expect }) => {
        const cwd = mkdtempSync(join(tmpdir(), "swarm-hostile-cwd-"));
        const root = join(mkdtempSync(join(tmpdir(), "swarm-hostile-root-")), "testbeds");
        mkdirSync(root);
        const res = await runIn(cwd, root, c);
        // whatever the assertions say, a testbed a failing case started does not outlive the test
        const started = listTestbeds(root);
        await Promise.all(started.map((t) => down(t.runDir)));
        const shown = `swarm ${c.args.map((a) => a.slice(0, 60)).join(" ")}\nexit ${res.code}\nstderr:\n${res.stderr.slice(0, 3000)}`;
        expect(res.code, shown).toBe(c.code);
        const all = res.stderr.split("\n").filter((l) => l.trim() !== "");
        const warnings = all.filter((l) => l.startsWith("swarm: warning: "));
        const lines = all.filter((l) => !l.startsWith("swarm: warning: "));
        expect(lines[0] ?? "", shown).toMatch(c.says);
        if (c.warns === undefined) expect(warnings, shown).toEqual([]);
        else expect(warnings.join("\n"), shown).toMatch(c.warns);
        // a right-to-left override or an invisible character would make the message lie about the input
        expect(res.stderr, shown).not.toMatch(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u);
        expect(res.stderr, shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(res.stderr, shown).not.toMatch(/this is a bug/);
        expect(res.stderr.length, `${shown}\n(the error echoes too much)`).toBeLessThan(2000);
        expect(res.stderr + res.stdout, shown).not.toContain("a-secret-that-must-never-be-printed");
        expect(readdirSync(cwd), `${shown}\n(files left in the working folder)`).toEqual([]);
        expect(
          started.map((t) => t.name),
          shown,
        ).toEqual([]);
        expect(processesMentioning(root), shown).toEqual([]);
      },
      90_000,
    );
});

describe("a closed pipe", () => {
  it("`swarm ... 2>&1 | head -1`: the run still finishes, writes its summary and stops its LiveKit", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "swarm-epipe-root-")), "testbeds");
    mkdirSync(root);
    const out = mkdtempSync(join(tmpdir(), "swarm-epipe-out-"));
    // 10 s: a 3 s run on a slow day exited 99, a join still under way at its end (a clean-clone
    // suite run, 2026-11-29); the pipe, not the verdict, is what this checks
    const child = spawn(process.execPath, [CLI, "--rooms", "1", "--duration", "10s", "-o", out], {
      env: { ...process.env, ...embeddedEnv(root) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // like `head -1`: read the first chunk, then close both pipes
    await new Promise<void>((resolve) =>
      child.stderr.once("data", () => {
        resolve();
      }),
    );
    child.stdout.destroy();
    child.stderr.destroy();
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(timer);
    const started = listTestbeds(root);
    await Promise.all(started.map((t) => down(t.runDir)));
    expect(code).toBe(0);
    expect(readdirSync(out)).toContain("summary.json");
    expect(started.map((t) => t.name)).toEqual([]);
    expect(processesMentioning(root)).toEqual([]);
  }, 150_000);
});

describe("an output folder removed during the run", () => {
  it("`rm -rf` of -o's folder mid-run: the summary table still shows, one line names the folder and the fix, exit 1, nothing left", async () => {
    const root = join(mkdtempSync(join(tmpdir(), "swarm-outgone-root-")), "testbeds");
    mkdirSync(root);
    const parent = mkdtempSync(join(tmpdir(), "swarm-outgone-"));
    const out = join(parent, "run");
    const child = spawn(
      process.execPath,
      // 10 s: on a busy CI machine 2 lean joins took over 3.3 s, and a 3 s run ended with nobody in
      [CLI, "--engine", "lean", "--rooms", "1", "--duration", "10s", "-o", out],
      { env: { ...process.env, ...embeddedEnv(root) }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    // removed once the workers write into it (the run is under way), while the process is alive
    let removed = false;
    for (let i = 0; i < 600 && child.exitCode === null; i++) {
      if (existsSync(join(out, "events.jsonl"))) {
        rmSync(parent, { recursive: true, force: true });
        removed = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await exited;
    clearTimeout(timer);
    const started = listTestbeds(root);
    await Promise.all(started.map((t) => down(t.runDir)));
    const shown = `exit ${code}\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-3000)}`;
    expect(removed, shown).toBe(true);
    expect(code, shown).toBe(1);
    expect(stdout, shown).toMatch(/participants +2\/2 joined/);
    expect(stdout, `${shown}\n(no file was written, none may be listed)`).not.toMatch(/^reports: /m);
    const last = stderr.trim().split("\n").at(-1) ?? "";
    const at = out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(last, shown).toMatch(
      new RegExp(
        `^swarm: the run's reports could not be written to the output folder ${at} \\(ENOENT at ${at}/summary\\.json\\): it was removed while the run went on.*--output$`,
      ),
    );
    expect(stderr, shown).not.toMatch(/this is a bug|^\s+at .+:\d+:\d+\)?$/m);
    expect(
      started.map((t) => t.name),
      shown,
    ).toEqual([]);
    expect(processesMentioning(root), shown).toEqual([]);
  }, 150_000);
});
