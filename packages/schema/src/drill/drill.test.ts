import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../config.js";
import type { Drill, DrillFault } from "../drill-types.js";
import { faultTypes } from "../drill-types.js";
import { parseScenarioObject } from "../scenario.js";
import { loadDrill, parseDrill } from "./index.js";

const SOURCE = "kill.yaml";
const HEAD = ["name: drill", "workload: { rooms: 1 }"];
const KILL = ["faults:", "  - type: node.kill"];
const FAULT_TYPES = faultTypes.join(", ");

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lkswarm-drill-"));
  await writeFile(
    join(dir, "base.yaml"),
    "name: base\nrooms: 2\nsubscribers: 3\nvideo: { codec: h264, fps: 15 }\n",
  );
  await writeFile(join(dir, "typo.yaml"), "romos: 2\n");
  await writeFile(join(dir, "broken.yaml"), "rooms: [1, 2\n");
  await writeFile(join(dir, "list.yaml"), "- rooms: 1\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = {
  LIVEKIT_URL: "wss://lk.example.com",
  LIVEKIT_API_KEY: "APIkey",
  LIVEKIT_API_SECRET: "s3cret-never-shown",
};

function parse(lines: readonly string[]): Drill {
  return parseDrill(lines.join("\n"), SOURCE, { baseDir: dir, env });
}

function errorOf(lines: readonly string[], options: { env?: Record<string, string> } = {}): ConfigError {
  try {
    parseDrill(lines.join("\n"), SOURCE, { baseDir: dir, env: options.env ?? env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(lines.join("\n"))} to be rejected`);
}

function problemsOf(lines: readonly string[], options: { env?: Record<string, string> } = {}): string[] {
  return errorOf(lines, options).problems;
}

/** A drill with the usual head and these faults, as YAML list items. */
function withFaults(...faults: string[]): string[] {
  return [...HEAD, "faults:", ...faults.map((fault) => `  - ${fault}`)];
}

function onlyFault(fault: string, ...more: string[]): DrillFault {
  const [first] = parse([...withFaults(fault), ...more]).faults;
  if (first === undefined) throw new Error("no fault parsed");
  return first;
}

describe("parseDrill fills the defaults", () => {
  it("resolves a minimal drill", () => {
    expect(parse([...HEAD, ...KILL])).toEqual({
      file: null,
      name: "drill",
      description: "",
      target: { backend: "local", testbed: null, nodes: 3, netns: false, prometheus: false, turn: false },
      workload: {
        scenario: parseScenarioObject({ name: "drill", rooms: 1 }, "x"),
        scenarioFile: null,
        rejoin: false,
      },
      baseline: 15_000,
      observe: 45_000,
      after: 15_000,
      steadyState: { connected: 1, mediaFlowing: 1, maxLoss: null, prometheus: [] },
      faults: [
        {
          id: "node.kill-1",
          type: "node.kill",
          target: { kind: "busiest-room-node" },
          at: 0,
          duration: null,
          confirmWithin: 5000,
          params: {},
        },
      ],
      abort: {
        // baseline + last fault's at + observe + after + 2m
        maxDuration: 15_000 + 0 + 45_000 + 15_000 + 120_000,
        maxNodes: null,
        maxParticipantsDown: null,
        downFor: 10_000,
      },
      expect: {
        detect: null,
        reconnect: null,
        mediaResume: null,
        participantsLost: null,
        ghosts: null,
        consistentWithin: null,
        qualityAfter: null,
        acceptFindings: [],
      },
    } satisfies Drill);
  });

  it("derives max-duration from the last fault", () => {
    const drill = parse([
      ...withFaults("type: node.kill", "{ type: node.kill, target: random-node, at: 1m }"),
      "baseline: 10s",
      "observe: 20s",
      "after: 5s",
    ]);
    expect(drill.abort.maxDuration).toBe(10_000 + 60_000 + 20_000 + 5000 + 120_000);
  });

  it("gives slow faults more time to confirm", () => {
    const drill = parse(
      withFaults("type: node.restart", "type: redis.restart", "type: node.drain", "type: node.kill"),
    );
    expect(drill.faults.map((f) => f.confirmWithin)).toEqual([10_000, 10_000, 10_000, 5000]);
  });

  it("numbers default ids by position", () => {
    const drill = parse(
      withFaults("type: node.kill", "{ id: loss, type: net.loss, ratio: 5% }", "type: node.kill"),
    );
    expect(drill.faults.map((f) => f.id)).toEqual(["node.kill-1", "loss", "node.kill-3"]);
  });

  it("turns on network namespaces for network faults, and Prometheus for probes", () => {
    const drill = parse([
      ...withFaults("{ type: net.delay, delay: 100ms }"),
      "steady-state:",
      "  prometheus: [{ query: 'count(up == 1)', min: 3 }]",
    ]);
    expect(drill.target).toEqual({
      backend: "local",
      testbed: null,
      nodes: 3,
      netns: true,
      prometheus: true,
      turn: false,
    });
  });

  it("keeps explicit target settings", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "target: { testbed: chaos, nodes: 5, netns: true, prometheus: true }",
    ]);
    expect(drill.target).toEqual({
      backend: "local",
      testbed: "chaos",
      nodes: 5,
      netns: true,
      prometheus: true,
      turn: false,
    });
  });

  it("turns on TURN in the testbed it starts", () => {
    expect(parse([...HEAD, ...KILL, "target: { nodes: 2, turn: true }"]).target).toMatchObject({
      nodes: 2,
      turn: true,
    });
  });
});

describe("parseDrill reads every fault type", () => {
  it.each<[string, Partial<DrillFault>]>([
    ["type: node.kill", { type: "node.kill", target: { kind: "busiest-room-node" }, params: {} }],
    ["{ type: node.freeze, duration: 20s }", { type: "node.freeze", duration: 20_000, params: {} }],
    ["type: node.drain", { type: "node.drain", params: { graceMs: 10_000 } }],
    ["{ type: node.drain, grace: 30s }", { type: "node.drain", params: { graceMs: 30_000 } }],
    ["{ type: node.restart, grace: 0s }", { type: "node.restart", params: { graceMs: 0 } }],
    ["type: redis.kill", { type: "redis.kill", target: { kind: "redis" }, params: {} }],
    [
      "{ type: redis.restart, duration: 5s }",
      { type: "redis.restart", target: { kind: "redis" }, duration: 5000 },
    ],
    ["type: net.partition", { type: "net.partition", params: { direction: "both", from: "all" } }],
    [
      "{ type: net.partition, direction: ingress, from: redis }",
      { type: "net.partition", params: { direction: "ingress", from: "redis" } },
    ],
    ["{ type: net.loss, ratio: 10% }", { type: "net.loss", params: { ratio: 0.1, direction: "egress" } }],
    [
      "{ type: net.loss, ratio: 0.25, direction: both }",
      { type: "net.loss", params: { ratio: 0.25, direction: "both" } },
    ],
    ["{ type: net.bandwidth, rate: 500kbit }", { type: "net.bandwidth", params: { rateKbit: 500 } }],
    ["{ type: net.bandwidth, rate: 1.5mbit }", { type: "net.bandwidth", params: { rateKbit: 1500 } }],
    ["{ type: net.delay, delay: 100ms }", { type: "net.delay", params: { delayMs: 100 } }],
    [
      "{ type: net.delay, delay: 100ms, jitter: 20ms }",
      { type: "net.delay", params: { delayMs: 100, jitterMs: 20 } },
    ],
    [
      "{ type: client.simulate, scenario: node-failure, target: { participants: 25% } }",
      {
        type: "client.simulate",
        target: { kind: "participants", share: 0.25, busiestRoomOnly: false },
        duration: null,
        params: { scenario: "node-failure" },
      },
    ],
    [
      "{ type: client.join, at: 70s }",
      {
        type: "client.join",
        target: { kind: "every-room" },
        at: 70_000,
        duration: null,
        params: { perRoom: 1 },
      },
    ],
    ["{ type: client.join, per-room: 2 }", { type: "client.join", params: { perRoom: 2 } }],
  ])("%s", (fault, expected) => {
    expect(onlyFault(fault)).toMatchObject(expected);
  });

  it("thaws a freeze by ref", () => {
    const drill = parse(
      withFaults(
        "{ id: freeze, type: node.freeze }",
        "{ type: node.thaw, target: { ref: freeze }, at: 20s }",
      ),
    );
    expect(drill.faults[1]).toEqual({
      id: "node.thaw-2",
      type: "node.thaw",
      target: { kind: "ref", fault: "freeze" },
      at: 20_000,
      duration: null,
      confirmWithin: 5000,
      params: {},
    });
  });

  it("covers every fault type in these tests", () => {
    const written = [
      "node.kill",
      "node.freeze",
      "node.thaw",
      "node.drain",
      "node.restart",
      "redis.kill",
      "redis.restart",
      "net.partition",
      "net.loss",
      "net.bandwidth",
      "net.delay",
      "client.simulate",
      "client.join",
    ];
    expect([...faultTypes].sort()).toEqual(written.sort());
  });

  it.each<[string, unknown]>([
    ["busiest-room-node", { kind: "busiest-room-node" }],
    ["random-node", { kind: "random-node" }],
    ["all-nodes", { kind: "all-nodes" }],
    ["{ node: 2 }", { kind: "node", index: 2 }],
    ["{ share: 50% }", { kind: "share-of-nodes", share: 0.5 }],
    ["{ share: 0.34 }", { kind: "share-of-nodes", share: 0.34 }],
  ])("reads target %s", (target, expected) => {
    expect(onlyFault(`{ type: node.kill, target: ${target} }`).target).toEqual(expected);
  });

  it("reads a participants target in the busiest room", () => {
    const fault = onlyFault(
      "{ type: client.simulate, scenario: migration, target: { participants: 12.5%, room: busiest } }",
    );
    expect(fault.target).toEqual({ kind: "participants", share: 0.125, busiestRoomOnly: true });
  });

  it("reads a ref to an earlier node fault", () => {
    const drill = parse(
      withFaults(
        "{ id: kill, type: node.kill, duration: 10s }",
        "{ type: net.loss, ratio: 5%, target: { ref: kill }, at: 30s }",
      ),
    );
    expect(drill.faults[1]?.target).toEqual({ kind: "ref", fault: "kill" });
  });
});

describe("parseDrill reads backends", () => {
  it("fills compose credentials from the environment and finds the compose file next to the drill", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "target:",
      "  backend: compose",
      "  url: ${LIVEKIT_URL}",
      "  api-key: ${LIVEKIT_API_KEY}",
      "  api-secret: prefix-${LIVEKIT_API_SECRET}",
      "  project: lk",
      "  file: ../deploy/compose.yaml",
      "  nodes: [livekit1, livekit2]",
      "  redis: redis",
      "  network: lk_default",
    ]);
    expect(drill.target).toEqual({
      backend: "compose",
      url: "wss://lk.example.com",
      apiKey: "APIkey",
      apiSecret: "prefix-s3cret-never-shown",
      project: "lk",
      file: join(dir, "../deploy/compose.yaml"),
      nodes: ["livekit1", "livekit2"],
      redis: "redis",
      network: "lk_default",
    });
  });

  it("defaults the compose extras to null", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "target: { backend: compose, url: ws://localhost:7880, api-key: k, api-secret: s, nodes: [a] }",
    ]);
    expect(drill.target).toMatchObject({ project: null, file: null, redis: null, network: null });
  });

  it("reads kubernetes with its defaults", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "target: { backend: kubernetes, url: https://lk.example.com, api-key: k, api-secret: s, node-selector: app=livekit }",
    ]);
    expect(drill.target).toEqual({
      backend: "kubernetes",
      url: "https://lk.example.com",
      apiKey: "k",
      apiSecret: "s",
      namespace: "default",
      context: null,
      nodeSelector: "app=livekit",
      redisSelector: null,
      redisPort: 6379,
    });
  });

  it("reads kubernetes redis-port (where redis-cli in the Redis pod finds it) and refuses one out of range", () => {
    const k8s = (extra: string) =>
      `target: { backend: kubernetes, url: https://lk.example.com, api-key: k, api-secret: s, node-selector: app=livekit, redis-selector: app=redis${extra} }`;
    expect(parse([...HEAD, ...KILL, k8s(", redis-port: 26379")]).target).toMatchObject({ redisPort: 26379 });
    expect(() => parse([...HEAD, ...KILL, k8s(", redis-port: 70000")])).toThrow(
      /target\.redis-port: expected a port from 1 to 65535/,
    );
  });
});

describe("parseDrill reads the rest", () => {
  it("reads steady state, abort and expectations", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "baseline: 20s",
      "observe: 1m",
      "after: 30s",
      "steady-state:",
      "  connected: 95%",
      "  media-flowing: 0.9",
      "  max-loss: 5%",
      "  prometheus:",
      "    - { query: 'count(up == 1)', min: 3 }",
      "    - { query: 'sum(livekit_room_total)', max: 10 }",
      "abort: { max-duration: 10m, max-nodes: 1, max-participants-down: 50%, down-for: 20s }",
      "expect:",
      "  detect: { p95: 3s }",
      "  reconnect: { p50: 5s, p95: 20s, max: 30s }",
      "  media-resume: { max: 25s }",
      "  participants-lost: 0",
      "  ghosts: 1",
      "  consistent-within: 30s",
      "  quality-after: { max-loss: 2%, max-loss-vs-baseline: 2, min-bitrate-vs-baseline: 0.8 }",
    ]);
    expect(drill).toMatchObject({
      baseline: 20_000,
      observe: 60_000,
      after: 30_000,
      steadyState: {
        connected: 0.95,
        mediaFlowing: 0.9,
        maxLoss: 0.05,
        prometheus: [
          { query: "count(up == 1)", min: 3, max: null },
          { query: "sum(livekit_room_total)", min: null, max: 10 },
        ],
      },
      abort: { maxDuration: 600_000, maxNodes: 1, maxParticipantsDown: 0.5, downFor: 20_000 },
      expect: {
        detect: [{ population: null, p50: null, p95: 3000, max: null }],
        reconnect: [{ population: null, p50: 5000, p95: 20_000, max: 30_000 }],
        mediaResume: { p50: null, p95: null, max: 25_000 },
        participantsLost: 0,
        ghosts: 1,
        consistentWithin: 30_000,
        qualityAfter: { maxLoss: 0.02, maxLossVsBaseline: 2, minBitrateVsBaseline: 0.8 },
        acceptFindings: [],
      },
    } satisfies Partial<Drill>);
  });

  it("reads detect and reconnect bounds by population, one mapping or a list", () => {
    const drill = parse([
      ...HEAD,
      ...KILL,
      "expect:",
      "  detect:",
      "    - { population: signal-via-failed-node, p95: 2s }",
      "    - { population: room-on-failed-node, p50: 8s, p95: 15s }",
      "    - { max: 20s }",
      "  reconnect: { population: other, max: 1s }",
    ]);
    expect(drill.expect.detect).toEqual([
      { population: "signal-via-failed-node", p50: null, p95: 2000, max: null },
      { population: "room-on-failed-node", p50: 8000, p95: 15_000, max: null },
      { population: null, p50: null, p95: null, max: 20_000 },
    ]);
    expect(drill.expect.reconnect).toEqual([{ population: "other", p50: null, p95: null, max: 1000 }]);
  });

  it("lets null switch a steady-state check off", () => {
    const drill = parse([...HEAD, ...KILL, "steady-state: { connected: null, media-flowing: 100% }"]);
    expect(drill.steadyState).toMatchObject({ connected: null, mediaFlowing: 1 });
  });

  it("merges a scenario file under the inline keys", () => {
    const drill = parse([
      "name: drill",
      "workload: { scenario: base.yaml, subscribers: 1, video: { fps: 10 }, rejoin: true }",
      ...KILL,
    ]);
    expect(drill.workload).toMatchObject({ scenarioFile: join(dir, "base.yaml"), rejoin: true });
    expect(drill.workload.scenario).toMatchObject({
      name: "base",
      rooms: 2,
      subscribers: 1,
      video: { codec: "h264", fps: 10 },
    });
  });

  it("names the run after the drill unless the workload names it", () => {
    expect(parse([...HEAD, ...KILL]).workload.scenario.name).toBe("drill");
    expect(parse(["name: drill", "workload: { name: mine }", ...KILL]).workload.scenario.name).toBe("mine");
  });
});

describe("parseDrill rejects mistakes with one line naming the path", () => {
  const S = SOURCE;
  it.each<[string, string[], string[]]>([
    // the drill itself
    ["an empty file", [""], [`${S}: empty drill: expected a mapping with name, workload and faults`]],
    ["a list", ["- name: x"], [`${S}: expected a mapping with name, workload and faults, got a list`]],
    [
      "an unknown finding id in expect.accept-findings",
      [...HEAD, ...KILL, "expect: { accept-findings: [missing-from-server-veiw] }"],
      [
        `${S}: expect.accept-findings[0]: unknown finding id "missing-from-server-veiw" (did you mean "missing-from-server-view"?); one of stuck-reconnecting, media-never-resumed, ghost-participants, missing-from-server-view, reconnect-cycles, split-brain, late-joiner-unheard, peers-unseen`,
      ],
    ],
    [
      "a misspelt top-level key",
      [...HEAD, ...KILL, "obsreve: 10s"],
      [`${S}: obsreve: unknown key (did you mean "observe"?)`],
    ],
    [
      "no name",
      ["workload: { rooms: 1 }", ...KILL],
      [`${S}: name: missing: expected up to 64 lower-case letters, digits and "-", such as kill-room-node`],
    ],
    [
      "a name with capitals",
      ["name: Kill Node", "workload: { rooms: 1 }", ...KILL],
      [
        `${S}: name: expected up to 64 lower-case letters, digits and "-", such as kill-room-node, got "Kill Node"`,
      ],
    ],
    [
      "no workload",
      ["name: x", ...KILL],
      [
        `${S}: workload: missing: expected a mapping of scenario keys such as rooms, subscribers, duration, or scenario: <file>`,
      ],
    ],
    [
      "no faults",
      HEAD,
      [`${S}: faults: missing: expected a list of faults, each with a type such as node.kill`],
    ],
    [
      "an empty fault list",
      [...HEAD, "faults: []"],
      [`${S}: faults: expected a list of faults, each with a type such as node.kill, got an empty list`],
    ],
    [
      "a fault that is not a mapping",
      withFaults("node.kill"),
      [`${S}: faults[0]: expected a mapping with type, target, at and duration, got "node.kill"`],
    ],
    [
      "a baseline under 5s",
      [...HEAD, ...KILL, "baseline: 2s"],
      [`${S}: baseline: expected at least 5s, got "2s"`],
    ],
    [
      "no observation",
      [...HEAD, ...KILL, "observe: 0"],
      [`${S}: observe: expected a duration above 0, got 0`],
    ],
    [
      "a duration without a unit",
      [...HEAD, ...KILL, "after: 5x"],
      [`${S}: after: expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "5x"`],
    ],

    // fault types and keys
    [
      "a misspelt fault type",
      withFaults("type: node.kill", "type: node.kil"),
      [
        `${S}: faults[1].type: unknown fault type "node.kil" (did you mean "node.kill"?); one of ${FAULT_TYPES}`,
      ],
    ],
    [
      "no fault type",
      withFaults("at: 0s"),
      [`${S}: faults[0].type: missing: expected one of ${FAULT_TYPES}`],
    ],
    [
      "a number for a type",
      withFaults("type: 3"),
      [`${S}: faults[0].type: expected one of ${FAULT_TYPES}, got 3`],
    ],
    [
      "a misspelt fault key",
      withFaults("{ type: node.kill, durtion: 5s }"),
      [`${S}: faults[0].durtion: unknown key (did you mean "duration"?)`],
    ],
    [
      "another fault type's parameter",
      withFaults("{ type: net.delay, delay: 10ms, ratio: 5% }"),
      [`${S}: faults[0].ratio: net.delay takes no ratio (ratio is for net.loss)`],
    ],
    [
      "a parameter two other types take",
      withFaults("{ type: node.kill, direction: egress }"),
      [
        `${S}: faults[0].direction: node.kill takes no direction (direction is for net.partition and net.loss)`,
      ],
    ],
    [
      "a bad id",
      withFaults("{ id: my kill, type: node.kill }"),
      [`${S}: faults[0].id: expected up to 64 letters, digits, ".", "_" or "-", such as kill, got "my kill"`],
    ],
    [
      "a duplicate id",
      withFaults("{ id: kill, type: node.kill }", "{ id: kill, type: node.kill }"),
      [`${S}: faults[1].id: duplicate id "kill", already used by faults[0]`],
    ],
    [
      "an id that clashes with a default",
      withFaults("{ id: node.kill-2, type: node.kill }", "type: node.kill"),
      [
        `${S}: faults[1].id: duplicate id "node.kill-2", already used by faults[0] (this fault's default id): give it an id`,
      ],
    ],
    [
      "a negative at",
      withFaults("{ type: node.kill, at: -5s }"),
      [`${S}: faults[0].at: expected a duration that is not negative, got "-5s"`],
    ],
    [
      "a zero duration",
      withFaults("{ type: node.kill, duration: 0s }"),
      [`${S}: faults[0].duration: expected a duration above 0, got "0s"`],
    ],
    [
      "a duration on an instant fault",
      withFaults(
        "{ type: client.simulate, scenario: migration, target: { participants: 10% }, duration: 5s }",
      ),
      [`${S}: faults[0].duration: client.simulate is instant and takes no duration`],
    ],
    [
      "no time to confirm",
      withFaults("{ type: node.kill, confirm-within: 0 }"),
      [`${S}: faults[0].confirm-within: expected a duration above 0, got 0`],
    ],

    // parameters
    [
      "net.loss without ratio",
      withFaults("type: net.loss"),
      [`${S}: faults[0].ratio: net.loss needs ratio, the share of packets dropped, such as 10%`],
    ],
    [
      "a ratio that is not a share",
      withFaults("{ type: net.loss, ratio: abc }"),
      [`${S}: faults[0].ratio: expected a share such as 25% or 0.25, got "abc"`],
    ],
    [
      "a zero ratio",
      withFaults("{ type: net.loss, ratio: 0% }"),
      [`${S}: faults[0].ratio: expected a share above 0%, got "0%"`],
    ],
    [
      "a ratio over 100%",
      withFaults("{ type: net.loss, ratio: 150% }"),
      [`${S}: faults[0].ratio: expected a share from 0% to 100%, got "150%"`],
    ],
    [
      "a percentage without %",
      withFaults("{ type: net.loss, ratio: 10 }"),
      [`${S}: faults[0].ratio: expected a share from 0 to 1, got 10 (did you mean 10%?)`],
    ],
    [
      "an unknown direction",
      withFaults("{ type: net.loss, ratio: 5%, direction: out }"),
      [`${S}: faults[0].direction: unknown direction "out"; one of egress, ingress, both`],
    ],
    [
      "an unknown partition source",
      withFaults("{ type: net.partition, from: reds }"),
      [`${S}: faults[0].from: unknown from "reds" (did you mean "redis"?); one of all, redis`],
    ],
    [
      "net.bandwidth without rate",
      withFaults("type: net.bandwidth"),
      [`${S}: faults[0].rate: net.bandwidth needs rate, such as 500kbit or 2mbit`],
    ],
    [
      "a rate without a unit",
      withFaults("{ type: net.bandwidth, rate: 500 }"),
      [`${S}: faults[0].rate: expected a rate such as 500kbit or 2mbit, got 500`],
    ],
    [
      "net.delay without delay",
      withFaults("{ type: net.delay, jitter: 5ms }"),
      [`${S}: faults[0].delay: net.delay needs delay, the added one-way delay, such as 100ms`],
    ],
    [
      "a bad grace",
      withFaults("{ type: node.restart, grace: soon }"),
      [`${S}: faults[0].grace: expected a duration like 30s, 5m or 1h30m (units h, m, s, ms), got "soon"`],
    ],
    [
      "client.simulate without scenario",
      withFaults("{ type: client.simulate, target: { participants: 10% } }"),
      [
        `${S}: faults[0].scenario: client.simulate needs scenario, one of signal-reconnect, node-failure, server-leave, migration, force-tcp, force-tls, full-reconnect, disconnect-signal-on-resume`,
      ],
    ],
    [
      "a misspelt simulate scenario",
      withFaults("{ type: client.simulate, scenario: node-failur, target: { participants: 10% } }"),
      [
        `${S}: faults[0].scenario: unknown simulate scenario "node-failur" (did you mean "node-failure"?); one of signal-reconnect, node-failure, server-leave, migration, force-tcp, force-tls, full-reconnect, disconnect-signal-on-resume`,
      ],
    ],

    // targets
    [
      "a misspelt target",
      withFaults("{ type: node.kill, target: busiest-node }"),
      [
        `${S}: faults[0].target: unknown target "busiest-node" (did you mean "busiest-room-node"?); one of busiest-room-node, random-node, all-nodes, or a mapping such as {node: 2}, {share: 50%}, {ref: <fault id>}, {participants: 25%, room: busiest}`,
      ],
    ],
    [
      "a number for a target",
      withFaults("{ type: node.kill, target: 2 }"),
      [
        `${S}: faults[0].target: expected busiest-room-node, random-node, all-nodes or a mapping such as {node: 2}, {share: 50%}, {ref: <fault id>}, {participants: 25%, room: busiest}, got 2`,
      ],
    ],
    [
      "node 0",
      withFaults("{ type: node.kill, target: { node: 0 } }"),
      [`${S}: faults[0].target.node: expected a positive integer, got 0`],
    ],
    [
      "a node the testbed does not have",
      withFaults("{ type: node.kill, target: { node: 4 } }"),
      [`${S}: faults[0].target.node: expected a node from 1 to 3 (target.nodes), got 4`],
    ],
    [
      "a share that is a word",
      withFaults("{ type: node.kill, target: { share: abc } }"),
      [`${S}: faults[0].target.share: expected a share such as 25% or 0.25, got "abc"`],
    ],
    [
      "two kinds of target",
      withFaults("{ type: node.kill, target: { node: 1, share: 50% } }"),
      [`${S}: faults[0].target: expected one of node, share, ref or participants, got node and share`],
    ],
    [
      "an empty target mapping",
      withFaults("{ type: node.kill, target: {} }"),
      [`${S}: faults[0].target: expected one of node, share, ref or participants, got none`],
    ],
    [
      "a misspelt target key",
      withFaults("{ type: node.kill, target: { nod: 1 } }"),
      [
        `${S}: faults[0].target.nod: unknown key (did you mean "node"?)`,
        `${S}: faults[0].target: expected one of node, share, ref or participants, got none`,
      ],
    ],
    [
      "a room without participants",
      withFaults("{ type: node.kill, target: { node: 1, room: busiest } }"),
      [
        `${S}: faults[0].target.room: room goes with participants, such as {participants: 25%, room: busiest}`,
      ],
    ],
    [
      "an unknown room",
      withFaults("{ type: client.simulate, scenario: migration, target: { participants: 10%, room: all } }"),
      [`${S}: faults[0].target.room: unknown room "all" (did you mean "any"?); one of busiest, any`],
    ],
    [
      "participants for a network fault",
      withFaults("type: node.kill", "{ type: net.loss, ratio: 5%, target: { participants: 25% } }"),
      [
        `${S}: faults[1].target: net.loss needs a node target: busiest-room-node, random-node, all-nodes, {node: 2}, {share: 50%} or {ref: <fault id>}; {participants: ...} is for client.simulate`,
      ],
    ],
    [
      "a target for redis",
      withFaults("{ type: redis.kill, target: all-nodes }"),
      [`${S}: faults[0].target: redis.kill acts on Redis and takes no target`],
    ],
    [
      "client.simulate without a target",
      withFaults("{ type: client.simulate, scenario: migration }"),
      [
        `${S}: faults[0].target: client.simulate needs a participants target such as {participants: 25%, room: busiest}`,
      ],
    ],
    [
      "client.simulate on nodes",
      withFaults("{ type: client.simulate, scenario: migration, target: all-nodes }"),
      [
        `${S}: faults[0].target: client.simulate needs a participants target such as {participants: 25%, room: busiest}, got all-nodes`,
      ],
    ],
    [
      "a target for late joiners",
      withFaults("{ type: client.join, target: all-nodes }"),
      [
        `${S}: faults[0].target: client.join adds participants to every room and takes no target (per-room says how many)`,
      ],
    ],
    [
      "no late joiners",
      withFaults("{ type: client.join, per-room: 0 }"),
      [`${S}: faults[0].per-room: expected a positive integer, got 0`],
    ],
    [
      "late joiners that last",
      withFaults("{ type: client.join, duration: 10s }"),
      [`${S}: faults[0].duration: client.join is instant and takes no duration`],
    ],
    [
      "no participants to simulate",
      withFaults("{ type: client.simulate, scenario: migration, target: { participants: 0 } }"),
      [`${S}: faults[0].target.participants: expected a share above 0%, got 0`],
    ],

    // refs and thaws
    [
      "node.thaw without a target",
      withFaults("type: node.thaw"),
      [`${S}: faults[0].target: node.thaw needs {ref: <id of a node.freeze fault>}, the freeze it undoes`],
    ],
    [
      "node.thaw of a node",
      withFaults("type: node.freeze", "{ type: node.thaw, target: { node: 1 } }"),
      [
        `${S}: faults[1].target: node.thaw needs {ref: <id of a node.freeze fault>}, the freeze it undoes, got {node: 1}`,
      ],
    ],
    [
      "node.thaw of a kill",
      withFaults("{ id: kill, type: node.kill }", "{ type: node.thaw, target: { ref: kill } }"),
      [`${S}: faults[1].target.ref: node.thaw undoes a node.freeze, but "kill" is a node.kill`],
    ],
    [
      "node.thaw of a freeze that thaws itself",
      withFaults(
        "{ id: freeze, type: node.freeze, duration: 20s }",
        "{ type: node.thaw, target: { ref: freeze }, at: 30s }",
      ),
      [
        `${S}: faults[1].target.ref: "freeze" thaws itself after its duration (20s): drop that duration or this node.thaw`,
      ],
    ],
    [
      "a misspelt ref",
      withFaults("{ id: kill, type: node.kill }", "{ type: net.loss, ratio: 5%, target: { ref: kil } }"),
      [`${S}: faults[1].target.ref: no earlier fault has id "kil" (did you mean "kill"?)`],
    ],
    [
      "a ref to a later fault",
      withFaults("{ type: net.loss, ratio: 5%, target: { ref: kill } }", "{ id: kill, type: node.kill }"),
      [`${S}: faults[0].target.ref: "kill" is faults[1], which comes later: a ref names an earlier fault`],
    ],
    [
      "a ref to itself",
      withFaults("{ id: loop, type: node.kill, target: { ref: loop } }"),
      [`${S}: faults[0].target.ref: a fault cannot target itself`],
    ],
    [
      "a ref to a fault that hits no node",
      withFaults("{ id: redis, type: redis.kill }", "{ type: node.kill, target: { ref: redis } }"),
      [`${S}: faults[1].target.ref: "redis" is a redis.kill fault, which hits no node`],
    ],
    [
      "a ref that fires before its fault",
      withFaults(
        "{ id: kill, type: node.kill, at: 10s }",
        "{ type: net.loss, ratio: 5%, target: { ref: kill }, at: 5s }",
      ),
      [`${S}: faults[1].at: 5s is before "kill" (at 10s), whose nodes this fault targets`],
    ],

    // target
    [
      "an unknown backend",
      [...HEAD, ...KILL, "target: { backend: k8s }"],
      [`${S}: target.backend: unknown backend "k8s"; one of local, compose, kubernetes`],
    ],
    [
      "a misspelt target key",
      [...HEAD, ...KILL, "target: { nodse: 3 }"],
      [`${S}: target.nodse: unknown key (did you mean "nodes"?)`],
    ],
    [
      "another backend's key",
      [...HEAD, ...KILL, "target: { namespace: lk }"],
      [`${S}: target.namespace: the local backend takes no namespace (namespace is for kubernetes)`],
    ],
    [
      "no nodes",
      [...HEAD, ...KILL, "target: { nodes: 0 }"],
      [`${S}: target.nodes: expected a positive integer, got 0`],
    ],
    [
      "TURN on an attached testbed",
      [...HEAD, ...KILL, "target: { testbed: chaos, turn: true }"],
      [
        `${S}: target.turn: turn: the drill turns on TURN in the testbed it starts, not in testbed chaos: drop testbed, or drop turn and start that testbed with swarm testbed up --turn`,
      ],
    ],
    [
      "network profiles against an attached testbed",
      [
        "name: drill",
        "workload: { rooms: 1, network-profiles: { open: 50%, turn-only: 50% } }",
        ...KILL,
        "target: { testbed: chaos }",
      ],
      [
        `${S}: target.testbed: network-profiles (turn-only) place participants in network namespaces in front of a testbed the drill starts: drop testbed, or remove network-profiles from the workload`,
      ],
    ],
    [
      "network profiles with nodes in namespaces",
      [
        "name: drill",
        "workload: { rooms: 1, network-profiles: { udp-blocked: 100% } }",
        "faults:",
        "  - { type: net.loss, ratio: 10% }",
      ],
      [
        `${S}: target.netns: network-profiles (udp-blocked) place participants in network namespaces in front of a testbed the drill starts, with its nodes on this host: net.* faults (which need each node in a namespace of its own) and network-profiles do not mix in one drill`,
      ],
    ],
    [
      "a network fault without namespaces",
      [...withFaults("type: node.kill", "{ type: net.loss, ratio: 10% }"), "target: { netns: false }"],
      [`${S}: target.netns: net.loss needs each node in its own network namespace: set netns: true`],
    ],
    [
      "probes without Prometheus",
      [
        ...HEAD,
        ...KILL,
        "target: { prometheus: false }",
        "steady-state: { prometheus: [{ query: up, min: 1 }] }",
      ],
      [
        `${S}: target.prometheus: steady-state.prometheus needs the testbed's Prometheus: set prometheus: true`,
      ],
    ],
    [
      "redis on a single node",
      [...withFaults("type: redis.kill"), "target: { nodes: 1 }"],
      [
        `${S}: faults[0].type: redis.kill needs Redis, which a single-node testbed does not run: set target.nodes to 2 or more`,
      ],
    ],
    [
      "a partition from redis on a single node",
      [...withFaults("{ type: net.partition, from: redis }"), "target: { nodes: 1 }"],
      [
        `${S}: faults[0].from: net.partition from redis needs Redis, which a single-node testbed does not run: set target.nodes to 2 or more`,
      ],
    ],
    [
      "compose without its keys",
      [...HEAD, ...KILL, "target: { backend: compose }"],
      [
        `${S}: target.url: missing: compose needs url, such as \${LIVEKIT_URL}`,
        `${S}: target.api-key: missing: compose needs api-key, such as \${LIVEKIT_API_KEY}`,
        `${S}: target.api-secret: missing: compose needs api-secret, such as \${LIVEKIT_API_SECRET}`,
        `${S}: target.nodes: missing: compose needs nodes, the livekit-server services in node order, such as [livekit1, livekit2]`,
      ],
    ],
    [
      "a URL without a scheme",
      [
        ...HEAD,
        ...KILL,
        "target: { backend: compose, url: 'localhost:7880', api-key: k, api-secret: s, nodes: [a] }",
      ],
      [`${S}: target.url: expected a ws://, wss://, http:// or https:// URL, got "localhost:7880"`],
    ],
    [
      "a duplicate compose service",
      [
        ...HEAD,
        ...KILL,
        "target: { backend: compose, url: ws://h, api-key: k, api-secret: s, nodes: [a, b, a] }",
      ],
      [`${S}: target.nodes[2]: duplicate service "a", already nodes[0]`],
    ],
    [
      "an empty compose node list",
      [...HEAD, ...KILL, "target: { backend: compose, url: ws://h, api-key: k, api-secret: s, nodes: [] }"],
      [
        `${S}: target.nodes: expected a list of compose service names, such as [livekit1, livekit2], got an empty list`,
      ],
    ],
    [
      "a compose node out of range",
      [
        ...withFaults("{ type: node.kill, target: { node: 3 } }"),
        "target: { backend: compose, url: ws://h, api-key: k, api-secret: s, nodes: [a, b] }",
      ],
      [`${S}: faults[0].target.node: expected a node from 1 to 2 (the services in target.nodes), got 3`],
    ],
    [
      "redis on compose without a redis service",
      [
        ...withFaults("type: node.kill", "type: redis.restart"),
        "target: { backend: compose, url: ws://h, api-key: k, api-secret: s, nodes: [a, b] }",
      ],
      [`${S}: target.redis: missing: redis.restart (faults[1]) needs the compose service that runs Redis`],
    ],
    [
      "kubernetes without a node selector",
      [...HEAD, ...KILL, "target: { backend: kubernetes, url: ws://h, api-key: k, api-secret: s }"],
      [
        `${S}: target.node-selector: missing: kubernetes needs node-selector, the livekit-server pods' labels, such as app=livekit`,
      ],
    ],
    [
      "a freeze on kubernetes",
      [
        ...withFaults("type: node.freeze"),
        "target: { backend: kubernetes, url: ws://h, api-key: k, api-secret: s, node-selector: app=livekit }",
      ],
      [
        `${S}: faults[0].type: node.freeze (SIGSTOP) is not available on kubernetes: a container's PID 1 ignores SIGSTOP from inside its namespace; use the local or compose backend`,
      ],
    ],
    [
      "redis on kubernetes without a redis selector",
      [
        ...withFaults("type: redis.kill"),
        "target: { backend: kubernetes, url: ws://h, api-key: k, api-secret: s, node-selector: app=livekit }",
      ],
      [
        `${S}: target.redis-selector: missing: redis.kill (faults[0]) needs the Redis pods' label selector, such as app=redis`,
      ],
    ],

    // steady state, abort, expect
    [
      "a word for a share",
      [...HEAD, ...KILL, "steady-state: { connected: most }"],
      [`${S}: steady-state.connected: expected a share such as 25% or 0.25, got "most"`],
    ],
    [
      "a probe without bounds",
      [...HEAD, ...KILL, "steady-state: { prometheus: [{ query: up }] }"],
      [`${S}: steady-state.prometheus[0]: expected min, max or both, got neither`],
    ],
    [
      "a probe without a query",
      [...HEAD, ...KILL, "steady-state: { prometheus: [{ min: 1 }] }"],
      [`${S}: steady-state.prometheus[0].query: missing: expected a PromQL query such as count(up == 1)`],
    ],
    [
      "a probe whose min is above its max",
      [...HEAD, ...KILL, "steady-state: { prometheus: [{ query: up, min: 3, max: 1 }] }"],
      [`${S}: steady-state.prometheus[0].min: expected no more than max (1), got 3`],
    ],
    [
      "probes that are not a list",
      [...HEAD, ...KILL, "steady-state: { prometheus: up }"],
      [`${S}: steady-state.prometheus: expected a list of {query, min, max} checks, got "up"`],
    ],
    [
      "all nodes with max-nodes 1",
      [...withFaults("{ type: node.kill, target: all-nodes }"), "abort: { max-nodes: 1 }"],
      [`${S}: faults[0].target: all-nodes hits 3 nodes, more than abort.max-nodes (1)`],
    ],
    [
      "half the nodes with max-nodes 1",
      [...withFaults("{ type: node.kill, target: { share: 50% } }"), "abort: { max-nodes: 1 }"],
      [`${S}: faults[0].target: {share: 50%} hits 2 of 3 nodes, more than abort.max-nodes (1)`],
    ],
    [
      "two named nodes with max-nodes 1",
      [
        ...withFaults("{ type: node.kill, target: { node: 1 } }", "{ type: node.kill, target: { node: 2 } }"),
        "abort: { max-nodes: 1 }",
      ],
      [
        `${S}: faults[1].target: with the faults before it the drill hits 2 distinct nodes (1, 2), more than abort.max-nodes (1)`,
      ],
    ],
    [
      "a ref to a fault that refs itself, with max-nodes",
      [
        ...withFaults(
          "{ id: loop, type: node.kill, target: { ref: loop } }",
          "{ type: node.kill, target: { ref: loop } }",
        ),
        "abort: { max-nodes: 1 }",
      ],
      [`${S}: faults[0].target.ref: a fault cannot target itself`],
    ],
    [
      "a ref to all nodes with max-nodes 1",
      [
        ...withFaults(
          "{ id: all, type: node.freeze, target: all-nodes }",
          "{ type: node.thaw, target: { ref: all } }",
        ),
        "abort: { max-nodes: 3 }",
        "target: { nodes: 4 }",
      ],
      [
        `${S}: faults[0].target: all-nodes hits 4 nodes, more than abort.max-nodes (3)`,
        `${S}: faults[1].target: {ref: all} hits 4 nodes, more than abort.max-nodes (3)`,
      ],
    ],
    [
      "a max-duration shorter than the drill",
      [...HEAD, ...KILL, "abort: { max-duration: 1m }"],
      [
        `${S}: abort.max-duration: expected at least 1m15s, the drill's planned length (baseline + last fault's at + observe + after), got "1m"`,
      ],
    ],
    [
      "a misspelt abort key",
      [...HEAD, ...KILL, "abort: { max-node: 1 }"],
      [`${S}: abort.max-node: unknown key (did you mean "max-nodes"?)`],
    ],
    [
      "no participants may be down",
      [...HEAD, ...KILL, "abort: { max-participants-down: 0% }"],
      [`${S}: abort.max-participants-down: expected a share above 0%, got "0%"`],
    ],
    [
      "an empty percentile mapping",
      [...HEAD, ...KILL, "expect: { reconnect: {} }"],
      [
        `${S}: expect.reconnect: expected a mapping with population, p50, p95 or max, such as {population: room-on-failed-node, p95: 15s}, got none`,
      ],
    ],
    [
      "a misspelt population",
      [...HEAD, ...KILL, "expect: { detect: { population: room-on-failed, p95: 15s } }"],
      [
        `${S}: expect.detect.population: unknown population "room-on-failed" (did you mean "room-on-failed-node"?); one of signal-via-failed-node, room-on-failed-node, other`,
      ],
    ],
    [
      "a population without a bound",
      [...HEAD, ...KILL, "expect: { detect: [{ p95: 15s }, { population: other }] }"],
      [`${S}: expect.detect[1]: expected p50, p95 or max beside population, got none`],
    ],
    [
      "a population twice",
      [
        ...HEAD,
        ...KILL,
        "expect: { reconnect: [{ population: other, p95: 5s }, { population: other, max: 9s }] }",
      ],
      [`${S}: expect.reconnect[1].population: expected each population once, got other again`],
    ],
    [
      "an empty list of bounds",
      [...HEAD, ...KILL, "expect: { detect: [] }"],
      [
        `${S}: expect.detect: expected a mapping such as {p95: 20s}, or a list of them by population, got an empty list`,
      ],
    ],
    [
      "a p99",
      [...HEAD, ...KILL, "expect: { reconnect: { p99: 20s } }"],
      [
        `${S}: expect.reconnect.p99: unknown key (did you mean "p95"?)`,
        `${S}: expect.reconnect: expected a mapping with population, p50, p95 or max, such as {population: room-on-failed-node, p95: 15s}, got none`,
      ],
    ],
    [
      "a p95 above the max",
      [...HEAD, ...KILL, "expect: { media-resume: { p95: 40s, max: 30s } }"],
      [`${S}: expect.media-resume.p95: expected no more than max (30s), got "40s"`],
    ],
    [
      "a negative participant count",
      [...HEAD, ...KILL, "expect: { participants-lost: -1 }"],
      [`${S}: expect.participants-lost: expected a whole number, 0 or more, got -1`],
    ],
    [
      "an empty quality-after",
      [...HEAD, ...KILL, "expect: { quality-after: {} }"],
      [
        `${S}: expect.quality-after: expected a mapping with max-loss, max-loss-vs-baseline, min-bitrate-vs-baseline, got none`,
      ],
    ],
    [
      "a zero bitrate ratio",
      [...HEAD, ...KILL, "expect: { quality-after: { min-bitrate-vs-baseline: 0 } }"],
      [
        `${S}: expect.quality-after.min-bitrate-vs-baseline: expected a ratio above 0, such as 2 or 0.8, got 0`,
      ],
    ],

    // workload
    [
      "a misspelt workload key",
      ["name: x", "workload: { romos: 2 }", ...KILL],
      [`${S}: workload.romos: unknown key (did you mean "rooms"?)`],
    ],
    [
      "a misspelt rejoin",
      ["name: x", "workload: { rejoni: true }", ...KILL],
      [`${S}: workload.rejoni: unknown key (did you mean "rejoin"?)`],
    ],
    [
      "yes for rejoin",
      ["name: x", "workload: { rejoin: yes }", ...KILL],
      [`${S}: workload.rejoin: expected true or false, got "yes"`],
    ],
    [
      "a bad scenario value",
      ["name: x", "workload: { subscribers: ten }", ...KILL],
      [`${S}: workload.subscribers: expected a whole number, 0 or more, got "ten"`],
    ],
    [
      "a bad nested scenario value",
      ["name: x", "workload: { video: { codec: vp7 } }", ...KILL],
      [`${S}: workload.video.codec: expected one of vp8, h264, vp9, av1, got "vp7"`],
    ],
    [
      "a workload without participants",
      ["name: x", "workload: { video-publishers: 0, audio-publishers: 0, subscribers: 0 }", ...KILL],
      [`${S}: workload: no participants: set video-publishers, audio-publishers or subscribers above 0`],
    ],
  ])("%s", (_, lines, expected) => {
    expect(problemsOf(lines)).toEqual(expected);
  });

  it("reports several mistakes at once", () => {
    expect(
      problemsOf(["name: x", "workload: { rooms: 0 }", "baseline: 1s", "faults:", "  - type: node.kil"]),
    ).toEqual([
      `${SOURCE}: workload.rooms: expected a positive integer, got 0`,
      `${SOURCE}: baseline: expected at least 5s, got "1s"`,
      `${SOURCE}: faults[0].type: unknown fault type "node.kil" (did you mean "node.kill"?); one of ${FAULT_TYPES}`,
    ]);
  });

  it("names an unset environment variable and never shows a secret", () => {
    const lines = [
      ...HEAD,
      ...KILL,
      "target: { backend: compose, url: '${LIVEKIT_URL}', api-key: '${KEY}-${ID}', api-secret: 12345, nodes: [a] }",
    ];
    const error = errorOf(lines, { env: {} });
    expect(error.problems).toEqual([
      `${SOURCE}: target.url: environment variable LIVEKIT_URL is not set`,
      `${SOURCE}: target.api-key: environment variables KEY, ID are not set`,
      `${SOURCE}: target.api-secret: expected an API secret such as \${LIVEKIT_API_SECRET}, got a number`,
    ]);
    expect(JSON.stringify(error)).not.toContain("12345");
  });

  it("points scenario file problems at the file", () => {
    expect(problemsOf(["name: x", "workload: { scenario: typo.yaml }", ...KILL])).toEqual([
      `${join(dir, "typo.yaml")}: romos: unknown key (did you mean "rooms"?)`,
    ]);
  });

  it("points problems of inline keys over a file at the drill", () => {
    expect(problemsOf(["name: x", "workload: { scenario: base.yaml, rooms: none }", ...KILL])).toEqual([
      `${SOURCE}: workload.rooms: expected a positive integer, got "none"`,
    ]);
  });

  it.each<[string, (dir: string) => string]>([
    [
      "missing.yaml",
      (dir) => `${SOURCE}: workload.scenario: cannot read ${join(dir, "missing.yaml")}: no such file`,
    ],
    [
      "broken.yaml",
      (dir) =>
        `${join(dir, "broken.yaml")}:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    [
      "list.yaml",
      (dir) =>
        `${join(dir, "list.yaml")}: expected a mapping of scenario keys such as rooms, subscribers, duration, got a list`,
    ],
  ])("says what is wrong with scenario file %s", (file, expected) => {
    expect(problemsOf(["name: x", `workload: { scenario: ${file} }`, ...KILL])).toEqual([expected(dir)]);
  });

  it("lists a mapping's unknown keys before the problems with its values", () => {
    expect(problemsOf(withFaults("{ type: net.loss, ratio: 500%, dirction: egress }"))).toEqual([
      `${SOURCE}: faults[0].dirction: unknown key (did you mean "direction"?)`,
      `${SOURCE}: faults[0].ratio: expected a share from 0% to 100%, got "500%"`,
    ]);
  });

  it("reports every section's problems at once, in file order", () => {
    expect(
      problemsOf(["name: Bad", "workload: { rooms: 0 }", "baseline: 1s", "faults:", "  - type: node.kil"]),
    ).toEqual([
      `${SOURCE}: name: expected up to 64 lower-case letters, digits and "-", such as kill-room-node, got "Bad"`,
      `${SOURCE}: workload.rooms: expected a positive integer, got 0`,
      `${SOURCE}: baseline: expected at least 5s, got "1s"`,
      `${SOURCE}: faults[0].type: unknown fault type "node.kil" (did you mean "node.kill"?); one of ${FAULT_TYPES}`,
    ]);
  });

  it("gives line:column for a syntax error", () => {
    const error = errorOf(["name: x", "name: y"]);
    expect(error.reason).toBe("syntax");
    expect(error.problems).toEqual([`${SOURCE}:2:1: Map keys must be unique`]);
  });
});

describe("ConfigError", () => {
  it("serialises for journals", () => {
    const error = errorOf([...HEAD, ...KILL, "baseline: 1s"]);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "ConfigError",
      reason: "invalid",
      source: SOURCE,
      message: `${SOURCE}: baseline: expected at least 5s, got "1s"`,
      problems: [`${SOURCE}: baseline: expected at least 5s, got "1s"`],
    });
  });
});

describe("loadDrill", () => {
  it("reads a file, names problems after its path and finds the scenario next to it", async () => {
    const path = join(dir, "drill.yaml");
    await writeFile(
      path,
      "name: from-file\nworkload: { scenario: base.yaml }\nfaults: [{ type: node.kill }]\n",
    );
    await expect(loadDrill(path)).resolves.toMatchObject({
      file: path,
      name: "from-file",
      workload: { scenarioFile: join(dir, "base.yaml"), scenario: { rooms: 2 } },
    });
    await writeFile(path, "name: from-file\nworkload: { rooms: 1 }\nfaults: [{ type: node.kil }]\n");
    await expect(loadDrill(path)).rejects.toThrow(`${path}: faults[0].type: unknown fault type "node.kil"`);
  });

  it("says when the file is missing", async () => {
    const path = join(dir, "missing.yaml");
    await expect(loadDrill(path)).rejects.toMatchObject({
      reason: "unreadable",
      problems: [`${path}: cannot read drill: no such file`],
    });
  });
});

describe("the ready drills in chaos/", () => {
  const chaosDir = fileURLToPath(new URL("../../../../chaos/", import.meta.url));

  it("all load", async () => {
    const files = (await readdir(chaosDir)).filter((file) => file.endsWith(".yaml"));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const drill = await loadDrill(join(chaosDir, file));
      expect(drill.name, file).toBe(file.replace(/\.yaml$/, ""));
      expect(drill.description, file).not.toBe("");
      // 12 audio-only participants: what a 2-core machine can hold while a node is being hurt.
      expect(drill.workload.scenario, file).toMatchObject({
        rooms: 4,
        videoPublishers: 0,
        audioPublishers: 1,
        subscribers: 2,
      });
    }
  });
});

describe("parseDrill: one process fault per node while a freeze holds", () => {
  it.each<[string, string[], string]>([
    [
      "a kill of the node a freeze holds",
      withFaults(
        "{ id: ice, type: node.freeze, target: { node: 1 }, at: 10s, duration: 20s }",
        "{ type: node.kill, target: { node: 1 }, at: 15s }",
      ),
      `${SOURCE}: faults[1].at: node.kill would hit the node faults[0] (node.freeze) holds, while faults[0]'s freeze lasts until 30s: one process fault per node at a time; start it after the thaw, or target another node`,
    ],
    [
      "a freeze of a node a kill holds, by ref",
      withFaults(
        "{ id: k, type: node.kill, target: busiest-room-node, at: 5s, duration: 30s }",
        "{ type: node.freeze, target: { ref: k }, at: 10s }",
      ),
      `${SOURCE}: faults[1].at: node.freeze would hit the node faults[0] (node.kill) holds, while faults[1]'s freeze lasts until the drill's rollback (no duration, no node.thaw): one process fault per node at a time; start it after the thaw, or target another node`,
    ],
    [
      "a restart of every node during a freeze",
      withFaults(
        "{ type: node.freeze, target: { node: 2 }, at: 10s, duration: 20s }",
        "{ type: node.restart, target: all-nodes, at: 20s }",
      ),
      `${SOURCE}: faults[1].at: node.restart would hit the node faults[0] (node.freeze) holds, while faults[0]'s freeze lasts until 30s: one process fault per node at a time; start it after the thaw, or target another node`,
    ],
  ])("refuses %s", (_what, lines, problem) => {
    expect(problemsOf(lines)).toContain(problem);
  });

  it.each<[string, string[]]>([
    [
      "a kill after the thaw",
      withFaults(
        "{ type: node.freeze, target: { node: 1 }, at: 10s, duration: 20s }",
        "{ type: node.kill, target: { node: 1 }, at: 30s }",
      ),
    ],
    [
      "a kill of another node",
      withFaults(
        "{ type: node.freeze, target: { node: 1 }, at: 10s, duration: 20s }",
        "{ type: node.kill, target: { node: 2 }, at: 15s }",
      ),
    ],
    [
      "a kill of a random node",
      withFaults(
        "{ type: node.freeze, target: { node: 1 }, at: 10s, duration: 20s }",
        "{ type: node.kill, target: random-node, at: 15s }",
      ),
    ],
    [
      "a kill after a node.thaw",
      withFaults(
        "{ id: ice, type: node.freeze, target: { node: 1 }, at: 10s }",
        "{ type: node.thaw, target: { ref: ice }, at: 20s }",
        "{ type: node.kill, target: { node: 1 }, at: 25s }",
      ),
    ],
    [
      "two kills of one node",
      withFaults(
        "{ type: node.kill, target: { node: 1 }, at: 10s }",
        "{ type: node.kill, target: { node: 1 }, at: 15s }",
      ),
    ],
  ])("takes %s", (_what, lines) => {
    expect(() => parse(lines)).not.toThrow();
  });
});
