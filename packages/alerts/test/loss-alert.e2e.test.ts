import type { ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PacketLoss, Testbed } from "@livekit-swarm/testbed";
import { freePort, startSwarm, testbedEnv, waitFor } from "@livekit-swarm/test-kit";
import { renderRules } from "../src/index.js";

const ALERT = "LiveKitSwarmPacketLossHigh";
const LOSS_RATIO = "scenario_run_kind:lkswarm_inbound_packets_lost_per_expected:ratio_rate1m";
const isRoot = process.getuid?.() === 0;
const skipped = isRoot ? "" : " [SKIPPED: needs root to create network namespaces and nftables rules]";

interface PromAlert {
  labels: Record<string, string>;
  state: "pending" | "firing";
  value: string;
}

async function alerts(prom: string, name: string): Promise<PromAlert[]> {
  const res = await fetch(`${prom}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts.filter((a) => a.labels.alertname === name);
}

async function lossRatios(prom: string): Promise<{ kind: string; value: number }[]> {
  const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(LOSS_RATIO)}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result.map((r) => ({ kind: r.metric.kind ?? "", value: Number(r.value[1]) }));
}

describe("the generated swarm loss alert in a real Prometheus", () => {
  let tb: Testbed | undefined;
  let child: ChildProcess | undefined;
  let loss: PacketLoss | undefined;
  afterAll(async () => {
    loss?.remove();
    if (child?.exitCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    await tb?.stop();
  });

  it.skipIf(!isRoot)(
    `stays inactive on a clean network, then fires under 10% injected egress loss${skipped}`,
    async () => {
      const rulesDir = mkdtempSync(join(tmpdir(), "alerts-e2e-"));
      const ruleFiles = [...renderRules()].map(([path, content]) => {
        const file = join(rulesDir, path.replaceAll("/", "_"));
        writeFileSync(file, content);
        return file;
      });
      const port = await freePort();
      tb = await Testbed.start({
        name: `e2e-alerts-${process.pid}`,
        prometheus: true,
        scrapeTargets: [`127.0.0.1:${port}`],
        ruleFiles,
        netns: true,
      });
      const prom = tb.prometheusUrl ?? "";
      const out = mkdtempSync(join(tmpdir(), "alerts-e2e-swarm-"));
      // one run, two phases: long enough for the clean phase plus loss crossing 2% of a 1m rate
      // window (~15 s) plus the alert's 30 s `for:` plus evaluation slack
      const run = startSwarm(
        [
          "--rooms",
          "2",
          "--subscribers",
          "2",
          "--duration",
          "80s",
          "--metrics-port",
          String(port),
          "-o",
          out,
        ],
        testbedEnv(tb),
      );
      const swarm = run.child;
      child = swarm;

      // control: first the recorded ratio must exist for both kinds, so the rule has data to judge
      // (30 s covers joining and the first scrapes); then 12 s, six 2 s evaluations, with no alert
      let clean: { kind: string; value: number }[] = [];
      await waitFor(
        async () => {
          clean = await lossRatios(prom);
          return clean.length >= 2 && clean.every((x) => Number.isFinite(x.value));
        },
        {
          timeoutMs: 30_000,
          intervalMs: 1000,
          debugName: () => `recorded ${LOSS_RATIO} for audio and video (swarm stderr: ${run.stderr})`,
        },
      );
      const controlEnd = Date.now() + 12_000;
      while (Date.now() < controlEnd) {
        const active = await alerts(prom, ALERT);
        expect(
          active,
          `${ALERT} on a clean network; loss ratios ${JSON.stringify(await lossRatios(prom))}`,
        ).toEqual([]);
        await new Promise((r) => setTimeout(r, 2000));
      }
      expect(
        clean.every((x) => x.value < 0.02),
        `clean loss ratios ${JSON.stringify(clean)}`,
      ).toBe(true);

      loss = PacketLoss.inject(tb.nodes[0]?.namespace, 0.1, "egress");
      const injectedAt = Date.now();
      // loss needs ~15 s to lift the 1m ratio past 2%, then 30 s of `for:`; 60 s leaves slack for
      // the 2 s scrape and evaluation cadence
      let seen: unknown = [];
      let firing: PromAlert[] = [];
      await waitFor(
        async () => {
          firing = await alerts(prom, ALERT);
          seen = { alerts: firing, ratios: await lossRatios(prom) };
          return firing.some((x) => x.state === "firing");
        },
        {
          timeoutMs: 60_000,
          intervalMs: 1000,
          debugName: () => `${ALERT} firing after 10% loss (last seen ${JSON.stringify(seen)})`,
        },
      );
      const firedAfterMs = Date.now() - injectedAt;
      expect(firedAfterMs, "firing cannot come before the 30 s for: window").toBeGreaterThanOrEqual(30_000);
      const alert = firing.find((x) => x.state === "firing");
      expect(alert?.labels.severity).toBe("critical");
      expect(alert?.labels.scenario, JSON.stringify(alert?.labels)).toBeDefined();
      expect(Number(alert?.value), `alert value ${alert?.value}`).toBeGreaterThanOrEqual(0.02);
      expect(loss.droppedPackets(), "packets the nftables rule dropped").toBeGreaterThan(100);
      // the run's report is not under test: stop the swarm now rather than wait out its duration
      // (SIGTERM drains: participants leave cleanly; 15 s is ample, then it is killed in afterAll)
      const exited = new Promise((resolve) => swarm.once("exit", resolve));
      swarm.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    },
    150_000,
  );
});
