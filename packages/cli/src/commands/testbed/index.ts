import {
  Testbed,
  CONTAINERD_SOCKET,
  checkTestbedName,
  down,
  listTestbeds,
  runDirFor,
  TestbedError,
  type TestbedProblem,
  type TestbedStatus,
} from "@livekit-swarm/testbed";
import { basename } from "node:path";
import { ExitCode } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import type { TestbedFlags } from "./options.js";
import { swarmCommand } from "../../self.js";

/** `nameGiven`: --name was on the command line, so status shows that testbed only. */
export async function testbed(
  action: string | undefined,
  flags: TestbedFlags,
  nameGiven: boolean,
): Promise<number> {
  // before anything else, so a bad name is the message even where livekit-server is missing
  const name = checkTestbedName(flags.name);
  switch (action) {
    case "up": {
      const started = Date.now();
      const tb = await Testbed.start({
        name,
        nodes: flags.nodes,
        netns: flags.netns === true,
        prometheus: flags.prometheus === true,
        ...(flags.scrape !== undefined ? { scrapeTargets: flags.scrape } : {}),
        ...(flags.port !== undefined ? { port: flags.port } : {}),
        ...(flags.nodeCpu !== undefined ? { nodeCpu: flags.nodeCpu } : {}),
        ...(flags.turn === true ? { turn: true as const } : {}),
        ...(flags.kubernetes === true ? { kubernetes: true } : {}),
      });
      const status = tb.status();
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ ...status, apiSecret: tb.apiSecret }, null, 2)}\n`);
      } else {
        process.stdout.write(describe(status, Date.now() - started));
      }
      return ExitCode.ok;
    }
    case "status": {
      const problems: TestbedProblem[] = [];
      const all = listTestbeds(undefined, problems);
      const shown = nameGiven ? all.filter((s) => s.name === name) : all;
      const broken = nameGiven ? problems.filter((p) => basename(p.runDir) === name) : problems;
      if (flags.json === true) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else if (shown.length === 0 && broken.length === 0)
        process.stdout.write("no testbed is running (start one with `swarm testbed up`)\n");
      else for (const s of shown) process.stdout.write(describe(s));
      for (const p of broken) process.stderr.write(`swarm: ${p.message}\n`);
      return broken.length > 0 ? ExitCode.error : ExitCode.ok;
    }
    case "env": {
      const tb = Testbed.attach(name);
      process.stdout.write(
        `export LIVEKIT_URL=${tb.url}\nexport LIVEKIT_API_KEY=${tb.apiKey}\nexport LIVEKIT_API_SECRET=${tb.apiSecret}\n${tb.kubeconfig !== undefined ? `export KUBECONFIG=${tb.kubeconfig}\nexport CONTAINERD_ADDRESS=${CONTAINERD_SOCKET}\nexport CONTAINERD_NAMESPACE=k8s.io\n` : ""}`,
      );
      return ExitCode.ok;
    }
    case "down": {
      let leftSomething = false;
      const problems: TestbedProblem[] = [];
      const dirs =
        flags.all === true
          ? [...listTestbeds(undefined, problems).map((s) => s.runDir), ...problems.map((p) => p.runDir)]
          : [runDirFor(name)];
      for (const dir of dirs) {
        let report: Awaited<ReturnType<typeof down>>;
        try {
          report = await down(dir);
        } catch (err) {
          // one broken state does not keep --all from taking the others down
          if (!(err instanceof TestbedError) || err.reason !== "bad-state" || dirs.length === 1) throw err;
          process.stderr.write(`swarm: ${err.message}\n`);
          leftSomething = true;
          continue;
        }
        if (flags.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
        else if (
          report.stopped.length === 0 &&
          report.namespacesRemoved.length === 0 &&
          report.cluster === undefined
        )
          process.stdout.write(`${dir}: nothing was running\n`);
        else
          process.stdout.write(
            `${dir}: stopped ${report.stopped.join(", ") || "nothing"}${report.namespacesRemoved.length > 0 ? `; removed namespaces ${report.namespacesRemoved.join(", ")}` : ""}${report.cluster !== undefined && report.cluster.removed.length > 0 ? `; removed ${report.cluster.removed.join(", ")}` : ""}\n`,
          );
        if (report.cluster !== undefined && report.cluster.left.length > 0) {
          process.stderr.write(`${dir}: could not remove ${report.cluster.left.join("; ")}\n`);
          leftSomething = true;
        }
      }
      return leftSomething ? ExitCode.error : ExitCode.ok;
    }
    default:
      throw new UsageError(
        `testbed: expected an action (up, status, env, down), got ${action === undefined ? "nothing" : JSON.stringify(action)}; see \`swarm testbed --help\``,
      );
  }
}

function describe(s: TestbedStatus, tookMs?: number): string {
  const parts = [`${s.nodes.length} node${s.nodes.length > 1 ? "s" : ""}`];
  if (s.nodeCpu !== undefined) parts.push(`each capped at ${s.nodeCpu} core`);
  if (s.redis !== undefined) parts.push("redis");
  if (s.balancer !== undefined) parts.push("haproxy");
  if (s.prometheus !== undefined) parts.push("prometheus");
  if (s.kubernetes !== undefined) parts.push("as pods of a Kubernetes v1.34.2 cluster");
  const lines = [
    `testbed "${s.name}" (${parts.join(", ")})${tookMs !== undefined ? ` is up after ${(tookMs / 1000).toFixed(1)} s` : ""}`,
    `  url         ${s.url}`,
    `  api key     ${s.apiKey}`,
  ];
  // never printed, throwaway or not: terminal output ends up in CI logs; `env` exports it
  const self = swarmCommand();
  lines.push(`  api secret  not shown: eval "$(${self} testbed env --name ${s.name})" exports it`);
  for (const n of s.nodes) {
    lines.push(
      `  ${n.name.padEnd(6)} ${(n.nodeId ?? "?").padEnd(16)} ${n.state === "stopped" ? "stopped (frozen)" : n.alive ? "running" : "DOWN   "} pid ${n.pid}  ${n.ip}:${n.httpPort}  rtc tcp ${n.rtcTcpPort} udp ${n.rtcUdpPort}${n.turnUdpPort !== undefined ? `  turn udp ${n.turnUdpPort}` : ""}  ${n.metricsUrl}${n.namespace !== undefined ? `  netns ${n.namespace}` : ""}`,
    );
  }
  if (s.redis !== undefined) lines.push(`  redis       ${s.redis}`);
  if (s.balancer !== undefined) lines.push(`  balancer    ${s.balancer}`);
  if (s.prometheus !== undefined) lines.push(`  prometheus  ${s.prometheus}`);
  if (s.kubernetes !== undefined) {
    lines.push(`  kubernetes  ${s.kubernetes.server}  kubeconfig ${s.kubernetes.kubeconfig}`);
    lines.push(`  kubectl     ${s.kubernetes.kubectl} (env exports KUBECONFIG)`);
    for (const p of s.processes.filter((p) => p.role === "kubernetes"))
      lines.push(`  ${p.name.padEnd(24)} ${p.alive ? "running" : "DOWN   "} pid ${p.pid}`);
  }
  for (const f of s.faults.active) lines.push(`  fault       ${f}`);
  if (s.faults.ledger.length > 0)
    lines.push(
      `  ledger      ${s.faults.ledger.length} fault step(s) not undone: ${self} chaos rollback --testbed ${s.name}`,
    );
  if (s.faults.ledgerProblem !== undefined) lines.push(`  ledger      ${s.faults.ledgerProblem}`);
  lines.push(`  run dir     ${s.runDir}`);
  lines.push(
    `  use it:     eval "$(${self} testbed env --name ${s.name})"   stop it: ${self} testbed down --name ${s.name}`,
    "",
  );
  return lines.join("\n");
}
