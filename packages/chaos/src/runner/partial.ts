/**
 * The journal while the drill runs: rewritten (atomically) at every line the drill logs, so that a
 * drill killed outright (SIGKILL, a crash) still leaves a journal saying what it had done, which
 * faults were in place, and that it is partial. The complete journal replaces it at the end.
 */
import { renameSync, writeFileSync } from "node:fs";
import { JOURNAL_SCHEMA, type FaultRun } from "../journal.js";

export interface PartialJournal {
  readonly schema: typeof JOURNAL_SCHEMA;
  /** Always true here; the complete journal has no such field. */
  readonly partial: true;
  readonly note: string;
  readonly drill: { readonly name: string; readonly file: string | null };
  readonly runId: string;
  readonly start: string;
  readonly updated: string;
  readonly deployment: Readonly<Record<string, unknown>> | null;
  readonly faults: readonly Pick<
    FaultRun,
    "id" | "type" | "selection" | "injectedAt" | "confirmedAt" | "error"
  >[];
  readonly log: readonly { readonly at: string; readonly line: string }[];
}

export class PartialJournalWriter {
  private readonly lines: { at: string; line: string }[] = [];

  constructor(
    private readonly file: string,
    private readonly head: Pick<PartialJournal, "drill" | "runId" | "start">,
  ) {}

  write(
    line: string | null,
    faults: readonly (Pick<FaultRun, "id" | "type" | "selection" | "injectedAt" | "confirmedAt" | "error"> & {
      readonly revertedAtMs: number | null;
    })[],
    deployment: Readonly<Record<string, unknown>> | null,
  ): void {
    if (line !== null) this.lines.push({ at: new Date().toISOString(), line });
    const testbed = typeof deployment?.testbed === "string" ? deployment.testbed : null;
    const journal: PartialJournal = {
      schema: JOURNAL_SCHEMA,
      partial: true,
      note:
        "partial: the drill had not finished when this was written (still running, or killed)" +
        (testbed === null
          ? ""
          : `; if it was killed, undo its faults with: swarm chaos rollback --testbed ${testbed}`),
      ...this.head,
      updated: new Date().toISOString(),
      deployment,
      faults: faults.map((f) => ({
        id: f.id,
        type: f.type,
        selection: f.selection,
        injectedAt: f.injectedAt,
        confirmedAt: f.confirmedAt,
        error: f.error,
        reverted: f.revertedAtMs !== null,
      })),
      log: this.lines,
    };
    const tmp = `${this.file}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(journal, null, 2)}\n`);
      renameSync(tmp, this.file);
    } catch {
      // the record of a drill must never stop the drill (and its rollback)
    }
  }
}
