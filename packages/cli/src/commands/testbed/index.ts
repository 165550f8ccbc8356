import { Testbed, down, listTestbeds, runDirFor, type TestbedStatus } from "@livekit-swarm/testbed";
import { ExitCode } from "../../exit-codes.js";
import { helpText, parseOptions, UsageError, type CommandSpec } from "../../options.js";

const SPEC: CommandSpec = {
  name: "testbed",
  summary:
    "Starts a real LiveKit deployment on this machine (livekit-server nodes, Redis, HAProxy, optionally Prometheus), " +
    "reports what runs where, and stops it. The processes outlive this command; `down` ends them.",
  usage: "swarm testbed <up|status|env|down> [options]",
  options: [
    {
      name: "name",
      type: "string",
      default: "default",
      description: "testbed name; several can run at once",
    },
    {
      name: "nodes",
      type: "integer",
      default: 1,
      description: "livekit-server nodes (Redis and HAProxy when more than 1)",
    },
    {
      name: "netns",
      type: "boolean",
      description: "run each node in its own network namespace (root), for network faults",
    },
    { name: "prometheus", type: "boolean", description: "also start a Prometheus that scrapes the nodes" },
    {
      name: "scrape",
      type: "strings",
      placeholder: "host:port",
      description: "extra Prometheus scrape target (repeatable)",
    },
    {
      name: "port",
      type: "integer",
      description: "port clients connect to (balancer, or the single node); default a free one",
    },
    { name: "all", type: "boolean", description: "with down: every testbed of this machine's run root" },
    { name: "json", type: "boolean", description: "print machine-readable JSON" },
  ],
  examples: [
    "swarm testbed up                       # one node on a free port",
    "swarm testbed up --nodes 3 --prometheus",
    "sudo swarm testbed up --nodes 3 --netns --name chaos",
    'eval "$(swarm testbed env)"             # export LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET',
    "swarm testbed status --json",
    "swarm testbed down --all",
  ],
};

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(SPEC, argv);
  const action = positionals[0];
  if (values.help === true) {
    process.stdout.write(helpText(SPEC));
    return ExitCode.ok;
  }
  const name = values.name as string;
  switch (action) {
    case "up": {
      const started = Date.now();
      const tb = await Testbed.start({
        name,
        nodes: values.nodes as number,
        netns: values.netns === true,
        prometheus: values.prometheus === true,
        ...(values.scrape !== undefined ? { scrapeTargets: values.scrape as string[] } : {}),
        ...(values.port !== undefined ? { port: values.port as number } : {}),
      });
      const status = tb.status();
      if (values.json === true) {
        process.stdout.write(`${JSON.stringify({ ...status, apiSecret: tb.apiSecret }, null, 2)}\n`);
      } else {
        process.stdout.write(describe(status, tb.apiSecret, Date.now() - started));
      }
      return ExitCode.ok;
    }
    case "status": {
      const all = listTestbeds();
      const shown =
        positionals[1] !== undefined || argv.includes("--name") ? all.filter((s) => s.name === name) : all;
      if (values.json === true) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else if (shown.length === 0)
        process.stdout.write("no testbed is running (start one with `swarm testbed up`)\n");
      else for (const s of shown) process.stdout.write(describe(s));
      return ExitCode.ok;
    }
    case "env": {
      const tb = Testbed.attach(name);
      process.stdout.write(
        `export LIVEKIT_URL=${tb.url}\nexport LIVEKIT_API_KEY=${tb.apiKey}\nexport LIVEKIT_API_SECRET=${tb.apiSecret}\n`,
      );
      return ExitCode.ok;
    }
    case "down": {
      const dirs = values.all === true ? listTestbeds().map((s) => s.runDir) : [runDirFor(name)];
      for (const dir of dirs) {
        const report = await down(dir);
        if (values.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
        else if (report.stopped.length === 0 && report.namespacesRemoved.length === 0)
          process.stdout.write(`${dir}: nothing was running\n`);
        else
          process.stdout.write(
            `${dir}: stopped ${report.stopped.join(", ") || "nothing"}${report.namespacesRemoved.length > 0 ? `; removed namespaces ${report.namespacesRemoved.join(", ")}` : ""}\n`,
          );
      }
      return ExitCode.ok;
    }
    default:
      throw new UsageError(
        `testbed: expected an action (up, status, env, down), got ${action === undefined ? "nothing" : JSON.stringify(action)}; see \`swarm testbed --help\``,
      );
  }
}

function describe(s: TestbedStatus, secret?: string, tookMs?: number): string {
  const parts = [`${s.nodes.length} node${s.nodes.length > 1 ? "s" : ""}`];
  if (s.redis !== undefined) parts.push("redis");
  if (s.balancer !== undefined) parts.push("haproxy");
  if (s.prometheus !== undefined) parts.push("prometheus");
  const lines = [
    `testbed "${s.name}" (${parts.join(", ")})${tookMs !== undefined ? ` is up after ${(tookMs / 1000).toFixed(1)} s` : ""}`,
    `  url         ${s.url}`,
    `  api key     ${s.apiKey}`,
  ];
  // a throwaway key generated for this local testbed, shown once at `up` so it can be used at all
  if (secret !== undefined) lines.push(`  api secret  ${secret}`);
  for (const n of s.nodes) {
    lines.push(
      `  ${n.name.padEnd(6)} ${(n.nodeId ?? "?").padEnd(16)} ${n.state === "stopped" ? "stopped (frozen)" : n.alive ? "running" : "DOWN   "} pid ${n.pid}  ${n.ip}:${n.httpPort}  rtc tcp ${n.rtcTcpPort} udp ${n.rtcUdpPort}  ${n.metricsUrl}${n.namespace !== undefined ? `  netns ${n.namespace}` : ""}`,
    );
  }
  if (s.redis !== undefined) lines.push(`  redis       ${s.redis}`);
  if (s.balancer !== undefined) lines.push(`  balancer    ${s.balancer}`);
  if (s.prometheus !== undefined) lines.push(`  prometheus  ${s.prometheus}`);
  for (const f of s.faults.active) lines.push(`  fault       ${f}`);
  if (s.faults.ledger.length > 0)
    lines.push(
      `  ledger      ${s.faults.ledger.length} fault step(s) not undone: swarm chaos rollback --testbed ${s.name}`,
    );
  lines.push(`  run dir     ${s.runDir}`);
  lines.push(
    `  use it:     eval "$(swarm testbed env --name ${s.name})"   stop it: swarm testbed down --name ${s.name}`,
    "",
  );
  return lines.join("\n");
}
