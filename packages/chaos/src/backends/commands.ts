/**
 * What the compose and Kubernetes backends share: they turn a fault into argv steps (no shell),
 * run them through a StepRunner, and confirm by running check steps until their output shows the
 * fault in effect. The real runner is `execStep`; tests pass a recording fake.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { messageOf, type DrillBackend, type DeploymentFault } from "@livekit-swarm/schema";
import {
  FaultError,
  type FaultCommands,
  type FaultInjector,
  type InjectedFault,
  type NodeRef,
  type ShellStep,
  type StepRunner,
} from "../backend.js";
import type { FaultSubject } from "../journal.js";

/** A ShellStep with the two things the backends need beyond what the runner interface carries. */
export interface CommandStep extends ShellStep {
  /**
   * A RegExp source: when the step fails with output matching this, what it was to do already holds
   * (`is not paused`, `No such container`), and it counts as done. Keeps reverts idempotent.
   */
  readonly alreadyDone?: string;
  /** For a step that waits by itself (`kubectl wait --timeout=120s`): outlives the 30 s default. */
  readonly timeoutMs?: number;
  /** Appended to the failure message: what usually causes it and what to do. */
  readonly hint?: string;
}

/** FaultCommands whose steps may carry CommandStep's extras (still a FaultCommands). */
export interface StepCommands extends FaultCommands {
  readonly inject: readonly CommandStep[];
  readonly confirm: readonly CommandStep[];
  readonly revert: readonly CommandStep[];
}

export type StepResult = Awaited<ReturnType<StepRunner>>;

export const STEP_TIMEOUT_MS = 30_000;
/** Logs (`docker compose logs`) can be long; past this a step fails rather than eat memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** Runs a step with node:child_process execFile (no shell). Never rejects: failures are a code. */
export const execStep: StepRunner = (step: CommandStep) =>
  new Promise((resolve) => {
    const [file, ...args] = step.argv;
    if (file === undefined) {
      resolve({ code: 2, stdout: "", stderr: "empty argv" });
      return;
    }
    const timeout = step.timeoutMs ?? STEP_TIMEOUT_MS;
    const child = execFile(
      file,
      args,
      { encoding: "utf8", timeout, killSignal: "SIGKILL", maxBuffer: MAX_OUTPUT_BYTES },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
        } else if (error.code === "ENOENT") {
          resolve({ code: 127, stdout, stderr: `${file}: not found on PATH` });
        } else if (error.killed === true && error.signal === "SIGKILL") {
          resolve({ code: 124, stdout, stderr: `${stderr}\n(killed after ${timeout / 1000} s)`.trim() });
        } else {
          resolve({
            code: typeof error.code === "number" ? error.code : 1,
            stdout,
            stderr: stderr === "" ? error.message : stderr,
          });
        }
      },
    );
    // a command that exits without reading its stdin makes the write fail (EPIPE): its exit code says enough
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(step.stdin ?? "");
  });

/** An argument as a POSIX shell would need it, for messages and the dry run. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** A step as one shell line (stdin as a here-document), for humans: the dry run and the journal. */
export function formatStep(step: ShellStep): string {
  const line = step.argv.map(shellQuote).join(" ");
  return step.stdin === undefined ? line : `${line} <<'EOF'\n${step.stdin.trimEnd()}\nEOF`;
}

/**
 * `lkswarm-<id>` as a DNS label (Kubernetes object names, container names): lower case, `[a-z0-9-]`,
 * at most 63 characters. A name cut to fit ends in a hash of the id so two long ids stay apart.
 */
export function faultResourceName(faultId: string): string {
  const name = `lkswarm-${faultId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/-$/, "");
  if (name.length <= 63) return name;
  const hash = createHash("sha256").update(faultId).digest("hex").slice(0, 8);
  return `${name.slice(0, 54).replace(/-$/, "")}-${hash}`;
}

/** Escapes text for use inside a RegExp source. */
export function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Milliseconds as a Go duration (`30s`, `1500ms`): what Pumba and Chaos Mesh parse. */
export function goDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${whole}ms`;
}

/** A number as tc and Chaos Mesh want it: no exponent, no float noise (`7`, not `7.000000000000001`). */
export function plainNumber(value: number): string {
  return String(Number(value.toFixed(4)));
}

/**
 * LiveKit's node id from a node's log: the last "starting LiveKit server" line's `nodeID` (JSON
 * logs, or the console format's trailing JSON fields); undefined when the log has none.
 */
export function nodeIdFromLog(log: string): string | undefined {
  let id: string | undefined;
  for (const line of log.split("\n")) {
    if (!line.includes("starting LiveKit server")) continue;
    const match = /"nodeID":\s*"([^"]+)"/.exec(line);
    if (match?.[1] !== undefined) id = match[1];
  }
  return id;
}

function clip(text: string, max = 300): string {
  const flat = text.trim().replace(/\s+/g, " ");
  return flat.length <= max ? flat : `${flat.slice(0, max)}...`;
}

export interface CommandTiming {
  /** Between two rounds of confirm steps. */
  readonly pollMs: number;
  /** How long a revert's check step (one with `expect`) may poll before the revert fails. */
  readonly revertWithinMs: number;
}

// A poll costs a process start (docker or kubectl) or two; four a second shows a fault's onset to
// within a quarter second without loading the machine the swarm runs on.
export const defaultTiming: CommandTiming = { pollMs: 250, revertWithinMs: 30_000 };

type Outcome =
  { readonly ok: true; readonly evidence: string } | { readonly ok: false; readonly output: string };

/** What `plan` decided: the commands, and who they hit for the journal. */
export interface PlannedFault {
  readonly commands: StepCommands;
  readonly subjects: readonly FaultSubject[];
}

/**
 * A FaultInjector that works by commands: `inject` runs the inject steps, `confirm` polls the
 * confirm steps until every one succeeds at once, `revert` runs the revert steps. A backend says
 * which commands a fault takes (`commands`) and, when it must look before it acts, `plan`.
 */
export abstract class CommandInjector implements FaultInjector {
  abstract readonly backend: DrillBackend;
  protected readonly timing: CommandTiming;

  protected constructor(
    /** The argv every command starts with: `docker compose -p ... -f ...`, `kubectl -n ...`. */
    protected readonly base: readonly string[],
    protected readonly run: StepRunner,
    timing: Partial<CommandTiming> = {},
  ) {
    this.timing = { ...defaultTiming, ...timing };
  }

  abstract nodes(): Promise<readonly NodeRef[]>;
  abstract roomNode(room: string): Promise<NodeRef | undefined>;

  /** The commands for `fault` on `nodes`, run nowhere; throws a FaultError when the backend cannot. */
  protected abstract commands(fault: DeploymentFault, nodes: readonly NodeRef[]): StepCommands;

  protected abstract subjects(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly FaultSubject[];

  /** The commands `inject` runs. Kubernetes overrides it to read pod uids first. */
  protected plan(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<PlannedFault> {
    return Promise.resolve({ commands: this.commands(fault, nodes), subjects: this.subjects(fault, nodes) });
  }

  describe(fault: DeploymentFault, nodes: readonly NodeRef[]): readonly string[] {
    return this.commands(fault, nodes).inject.map(formatStep);
  }

  async inject(fault: DeploymentFault, nodes: readonly NodeRef[]): Promise<InjectedFault> {
    const { commands, subjects } = await this.plan(fault, nodes);
    const label = `${fault.id} (${fault.type})`;
    for (const [i, step] of commands.inject.entries()) {
      const outcome = await this.attempt(step);
      if (outcome.ok) continue;
      // some of the fault may be in place (one of two nodes cut off): take it back before failing
      const undone = i > 0 ? await this.undoQuietly(commands.revert) : "";
      throw new FaultError(`${label}: ${failure(step, outcome.output)}${undone}`, fault.id);
    }
    return this.issued(label, commands, subjects);
  }

  /**
   * The node Redis's `room_node_map` places `room` on; `redisCli` is the argv that runs redis-cli
   * in the deployment. Undefined when unplaced, unreadable, or on a node not listed any more.
   */
  protected async nodeFromRoomMap(room: string, redisCli: readonly string[]): Promise<NodeRef | undefined> {
    const out = await this.stdoutOf({
      argv: [...redisCli, "HGET", "room_node_map", room],
      why: `the node hosting ${room}, from Redis`,
    });
    const nodeId = out?.trim();
    if (nodeId === undefined || nodeId === "") return undefined;
    return (await this.nodes()).find((n) => n.nodeId === nodeId);
  }

  /** The journal's subjects for a fault on `nodes`, with their LiveKit node ids where known. */
  protected nodeSubjects(nodes: readonly NodeRef[]): readonly FaultSubject[] {
    return nodes.map((n) => ({
      kind: "node",
      name: n.name,
      ...(n.nodeId !== undefined ? { nodeId: n.nodeId } : {}),
    }));
  }

  /** A step's stdout when it succeeds; undefined when it fails (for best-effort reads). */
  protected async stdoutOf(step: CommandStep): Promise<string | undefined> {
    try {
      const result = await this.run(step);
      return result.code === 0 ? result.stdout : undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs a step once: ok with evidence, or not with what it printed. */
  protected async attempt(step: CommandStep): Promise<Outcome> {
    let result: StepResult;
    try {
      result = await this.run(step);
    } catch (err) {
      return { ok: false, output: messageOf(err) };
    }
    if (result.code !== 0) {
      const output = `${result.stderr}\n${result.stdout}`.trim();
      if (step.alreadyDone !== undefined && new RegExp(step.alreadyDone).test(output)) {
        return { ok: true, evidence: `${step.why} (already so: ${clip(output, 120)})` };
      }
      return { ok: false, output: `exit ${result.code}: ${clip(output) || "(no output)"}` };
    }
    if (step.expect === undefined) return { ok: true, evidence: step.why };
    const match = new RegExp(step.expect).exec(result.stdout);
    if (match === null) return { ok: false, output: clip(result.stdout) || "(no output)" };
    const seen = clip(match[0], 120);
    return { ok: true, evidence: seen === "" ? step.why : `${step.why} (${seen})` };
  }

  /**
   * Runs `steps` in order until all of them succeed in one round (the evidence, joined), or the
   * deadline (epoch ms) passes: then the step that did not, and what it printed last.
   */
  protected async poll(steps: readonly CommandStep[], deadlineMs: number): Promise<Outcome> {
    for (;;) {
      const evidence: string[] = [];
      let missing: string | undefined;
      for (const step of steps) {
        const outcome = await this.attempt(step);
        if (!outcome.ok) {
          missing = failure(step, outcome.output, "last printed");
          break;
        }
        evidence.push(outcome.evidence);
      }
      if (missing === undefined) return { ok: true, evidence: evidence.join("; ") };
      if (Date.now() >= deadlineMs) return { ok: false, output: missing };
      await sleep(this.timing.pollMs);
    }
  }

  private issued(label: string, commands: StepCommands, subjects: readonly FaultSubject[]): InjectedFault {
    let reverted: string | undefined;
    let reverting: Promise<string> | undefined;
    const revertOnce = async (): Promise<string> => {
      const done: string[] = [];
      const failed: string[] = [];
      // every step runs even after one fails: a rollback undoes as much as it can
      for (const step of commands.revert) {
        if (step.expect === undefined) {
          const outcome = await this.attempt(step);
          if (outcome.ok) done.push(outcome.evidence);
          else failed.push(failure(step, outcome.output));
        } else {
          const outcome = await this.poll([step], Date.now() + this.timing.revertWithinMs);
          if (outcome.ok) done.push(outcome.evidence);
          else failed.push(`not seen within ${this.timing.revertWithinMs / 1000} s: ${outcome.output}`);
        }
      }
      if (failed.length > 0) throw new Error(`${label}: revert incomplete: ${failed.join("; ")}`);
      return done.length === 0 ? "nothing to undo" : done.join("; ");
    };
    return {
      subjects,
      actions: commands.inject.map(formatStep),
      confirm: async (deadlineMs) => {
        if (commands.confirm.length === 0) return "issued; nothing to observe for it on this backend";
        const outcome = await this.poll(commands.confirm, deadlineMs);
        if (!outcome.ok) throw new Error(`${label}: not seen by the deadline: ${outcome.output}`);
        return outcome.evidence;
      },
      revert: () => {
        // Once a revert has succeeded, later calls (the drill's rollback after the fault's own
        // revert) do nothing: running `start` again could undo a later fault on the same node.
        // After a failed one, the next call retries every step.
        if (reverted !== undefined) return Promise.resolve(`already reverted: ${reverted}`);
        reverting ??= revertOnce().then(
          (text) => {
            reverted = text;
            reverting = undefined;
            return text;
          },
          (err: unknown) => {
            reverting = undefined;
            throw err;
          },
        );
        return reverting;
      },
    };
  }

  private async undoQuietly(steps: readonly CommandStep[]): Promise<string> {
    const failed: string[] = [];
    for (const step of steps) {
      const outcome = await this.attempt(step);
      if (!outcome.ok) failed.push(step.why);
    }
    return failed.length === 0
      ? " (the part already done was reverted)"
      : ` (could not revert: ${failed.join("; ")})`;
  }
}

function failure(step: CommandStep, output: string, lead = "printed"): string {
  const hint = step.hint === undefined ? "" : ` - ${step.hint}`;
  const command = step.argv.map(shellQuote).join(" ") + (step.stdin === undefined ? "" : " <stdin>");
  return `${step.why}: \`${command}\` ${lead}: ${output}${hint}`;
}
