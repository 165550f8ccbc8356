import { resolve, join } from "node:path";
import {
  checkDrillWorkload,
  drillPlanText,
  journalSummary,
  runDrill,
  type DrillJournal,
} from "@livekit-swarm/chaos";
import { ExitCode, loadDrill } from "@livekit-swarm/schema";
import { UsageError } from "../../errors.js";
import { readyMadeFile } from "../../ready-made.js";
import type { ChaosFlags } from "./options.js";
import { Interruption, newRunId } from "@livekit-swarm/load";

export async function chaos(
  action: string | undefined,
  file: string | undefined,
  flags: ChaosFlags,
): Promise<number> {
  if (action !== "run" || file === undefined) {
    throw new UsageError(
      `chaos: expected \`swarm chaos run <drill.yaml or name>\`${action !== undefined && action !== "run" ? `, got "${action}"` : ""}; see \`swarm chaos --help\``,
    );
  }
  // a ConfigError names the file and key path; the error boundary prints it and exits 1
  const drill = await loadDrill(readyMadeFile("chaos", file, "chaos run: drill"));
  checkDrillWorkload(drill);
  if (flags.dryRun === true) {
    process.stdout.write(drillPlanText(drill));
    return ExitCode.ok;
  }

  const runId = newRunId();
  const outputDir = resolve(flags.output ?? join("chaos-results", `${drill.name}-${runId}`));
  const log = (line: string): void => {
    process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
  };
  const interruption = new Interruption(log, {
    first: (sig) =>
      `${sig}: rolling back every fault, draining the swarm and writing the journal (again to hurry)`,
    second: "second signal: killing the swarm's workers now (faults are still rolled back)",
  }).listen();
  let journal: DrillJournal;
  try {
    log(`drill ${drill.name}: run ${runId}, results in ${outputDir}`);
    journal = await runDrill({
      drill,
      runId,
      outputDir,
      log,
      interrupt: interruption.interrupt,
      force: interruption.force,
    });
  } finally {
    interruption.close();
  }
  if (flags.json === true) process.stdout.write(`${JSON.stringify(journal, null, 2)}\n`);
  else process.stdout.write(journalSummary(journal));
  // the journal says interrupted (130) for either signal; SIGTERM exits 143 as every command does
  return interruption.signal === "SIGTERM" ? ExitCode.terminated : journal.exitCode;
}
