/**
 * The fault ledger: what a drill has done to a testbed and not yet undone, written to the run
 * directory before each injection and cleared by its revert, so that `swarm chaos rollback` can
 * undo it after the drill itself died (SIGKILL, a crash). Writes are atomic: a temporary file
 * renamed over the ledger, so a reader never sees half a file.
 */
import { existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { TestbedError } from "./errors.js";
import { FAULT_TABLE_PREFIX, faultQdiscs, faultTables, removeFaultTable, removeRootQdisc } from "./faults.js";
import { delayProcesses, DELAY_RULE_PREFIX, removeDelayRules } from "./user-delay.js";

/** What rolling the ledger back needs of a testbed (a `Testbed`; an interface to keep imports one-way). */
export interface LedgerTestbed {
  readonly runDir: string;
  nodeProcessState(index: number): "running" | "stopped" | "gone";
  signalNode(index: number, sig: NodeJS.Signals): boolean;
  restartNode(index: number): Promise<unknown>;
  redisProcessState(): "running" | "stopped" | "gone";
  signalRedis(sig: NodeJS.Signals): boolean;
  restartRedis(): Promise<void>;
}

/** One thing to undo: thaw a stopped node, delete a table, remove a qdisc, restart what was killed. */
export type LedgerEntry =
  | { readonly fault: string; readonly kind: "thaw-node"; readonly node: string; readonly index: number }
  | { readonly fault: string; readonly kind: "restart-node"; readonly node: string; readonly index: number }
  | { readonly fault: string; readonly kind: "restart-redis" }
  | { readonly fault: string; readonly kind: "nft-table"; readonly namespace: string; readonly table: string }
  | {
      readonly fault: string;
      readonly kind: "qdisc";
      readonly namespace: string;
      readonly device: string;
      /** netem where a `net.delay` could not run in user space: nothing to say when it never did. */
      readonly fallback?: true;
    }
  | { readonly fault: string; readonly kind: "user-delay"; readonly namespace: string; readonly tag: string };

export function ledgerFile(runDir: string): string {
  return join(runDir, "faults.json");
}

/** A ledger is a few entries per fault of one drill: far past this, it is not one of ours. */
const LEDGER_MAX_BYTES = 1 << 20;

/**
 * The ledger's entries; none when there is no ledger. A ledger that cannot be read, is not JSON or
 * holds anything but entries as the drills write them is refused (TestbedError "bad-ledger") with
 * the entry at fault: read as empty, it said "no fault to roll back" and left the faults in place;
 * read unchecked, its names reached `ip netns exec` and `nft`.
 */
export function readFaultLedger(runDir: string): LedgerEntry[] {
  const file = ledgerFile(runDir);
  if (!existsSync(file)) return [];
  const fix =
    "it was left as it is: look at it, undo what it lists by hand (`swarm testbed status` shows the faults still in place), then delete it";
  let text: string;
  try {
    if (statSync(file).size > LEDGER_MAX_BYTES)
      throw new Error(`larger than ${String(LEDGER_MAX_BYTES / 1024)} KiB`);
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new TestbedError(
      "bad-ledger",
      `the fault ledger ${file} cannot be read (${messageOf(err)}): ${fix}`,
    );
  }
  try {
    return parseFaultLedger(text);
  } catch (err) {
    throw new TestbedError(
      "bad-ledger",
      `the fault ledger ${file} is not one a drill wrote: ${messageOf(err)}; ${fix}`,
    );
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const TABLE = new RegExp(`^${FAULT_TABLE_PREFIX}[A-Za-z0-9_]{1,56}$`);
/** A network device's name: IFNAMSIZ less its NUL. */
const DEVICE = /^[A-Za-z0-9_.@-]{1,15}$/;
const TAG = /^[A-Za-z0-9_]{1,48}$/;

/** A value read from a ledger, for a message: short, and `absent` for a missing key. */
function shown(v: unknown): string {
  return v === undefined ? "absent" : JSON.stringify(v).slice(0, 60);
}

/** Pure: the entries of a ledger's text, each checked as the drills write it; throws naming the first wrong one. */
export function parseFaultLedger(text: string): LedgerEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error("it is not JSON");
  }
  if (!Array.isArray(data)) throw new Error("expected a list of entries");
  return data.map((raw: unknown, i) => {
    const at = `entry ${String(i + 1)}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new Error(`${at}: expected an object`);
    const e = raw as Record<string, unknown>;
    const text = (key: string, pattern: RegExp): string => {
      const v = e[key];
      if (typeof v !== "string" || !pattern.test(v))
        throw new Error(`${at}: ${key} ${shown(v)} does not match ${String(pattern)}`);
      return v;
    };
    // a drill's fault id (schema's FAULT_ID)
    const fault = text("fault", NAME);
    const index = (): number => {
      const v = e.index;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 15)
        throw new Error(`${at}: index ${shown(v)}: expected a node index, 0 to 15`);
      return v;
    };
    switch (e.kind) {
      case "thaw-node":
      case "restart-node":
        return { fault, kind: e.kind, node: text("node", NAME), index: index() };
      case "restart-redis":
        return { fault, kind: e.kind };
      case "nft-table":
        return { fault, kind: e.kind, namespace: text("namespace", NAME), table: text("table", TABLE) };
      case "qdisc":
        return {
          fault,
          kind: e.kind,
          namespace: text("namespace", NAME),
          device: text("device", DEVICE),
          ...(e.fallback === true ? { fallback: true as const } : {}),
        };
      case "user-delay":
        return { fault, kind: e.kind, namespace: text("namespace", NAME), tag: text("tag", TAG) };
      default:
        throw new Error(`${at}: kind ${shown(e.kind)} is not one a drill writes`);
    }
  });
}

function writeLedger(runDir: string, entries: readonly LedgerEntry[]): void {
  const file = ledgerFile(runDir);
  if (entries.length === 0) {
    if (existsSync(file)) unlinkSync(file);
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Adds what a fault is about to do; call it before the fault is injected. */
export function recordFaults(runDir: string, entries: readonly LedgerEntry[]): void {
  writeLedger(runDir, [...readFaultLedger(runDir), ...entries]);
}

/** Removes a fault's entries once its revert succeeded. */
export function clearFaults(runDir: string, fault: string): void {
  writeLedger(
    runDir,
    readFaultLedger(runDir).filter((e) => e.fault !== fault),
  );
}

/** What the ledger asks to undo, in words. */
export function describeLedgerEntry(e: LedgerEntry): string {
  switch (e.kind) {
    case "thaw-node":
      return `${e.fault}: SIGCONT ${e.node}`;
    case "restart-node":
      return `${e.fault}: restart ${e.node} if it is gone`;
    case "restart-redis":
      return `${e.fault}: restart redis if it is gone`;
    case "nft-table":
      return `${e.fault}: delete nftables table ${e.table} in ${e.namespace}`;
    case "qdisc":
      return `${e.fault}: delete the root qdisc of ${e.device} in ${e.namespace}${e.fallback === true ? " (netem, if the delay fell back to it)" : ""}`;
    case "user-delay":
      return `${e.fault}: delete the delay rule ${DELAY_RULE_PREFIX}${e.tag} in ${e.namespace} and stop its delayer`;
  }
}

/**
 * Undoes every entry of the ledger, newest first; each step looks before it acts, so running it
 * twice does nothing the second time. The entries that failed stay in the ledger.
 */
export async function rollBackFaultLedger(tb: LedgerTestbed): Promise<{ done: string[]; failed: string[] }> {
  const done: string[] = [];
  const failed: string[] = [];
  const left: LedgerEntry[] = [];
  for (const e of [...readFaultLedger(tb.runDir)].reverse()) {
    try {
      const did = await undo(tb, e);
      if (did !== undefined) done.push(did);
    } catch (err) {
      failed.push(`${describeLedgerEntry(e)}: ${messageOf(err)}`);
      left.unshift(e);
    }
  }
  writeLedger(tb.runDir, left);
  return { done, failed };
}

/** What undoing `e` did, or undefined for a fallback that was never put in place. */
async function undo(tb: LedgerTestbed, e: LedgerEntry): Promise<string | undefined> {
  switch (e.kind) {
    case "thaw-node":
      if (tb.nodeProcessState(e.index) !== "stopped") return `${e.node} was not stopped`;
      tb.signalNode(e.index, "SIGCONT");
      return `SIGCONT ${e.node}`;
    case "restart-node":
      if (tb.nodeProcessState(e.index) !== "gone") return `${e.node} is running`;
      await tb.restartNode(e.index);
      return `restarted ${e.node}`;
    case "restart-redis":
      if (tb.redisProcessState() === "stopped") tb.signalRedis("SIGCONT");
      if (tb.redisProcessState() !== "gone") return "redis is running";
      await tb.restartRedis();
      return "restarted redis (empty)";
    case "nft-table":
      if (!faultTables(e.namespace).includes(e.table)) return `table ${e.table} was gone`;
      removeFaultTable(e.namespace, e.table);
      return `deleted table ${e.table} in ${e.namespace}`;
    case "qdisc":
      if (!faultQdiscs(e.namespace).some((q) => q.device === e.device))
        return e.fallback === true ? undefined : `no qdisc of ours on ${e.device}`;
      removeRootQdisc(e.namespace, e.device);
      return `deleted the qdisc of ${e.device} in ${e.namespace}`;
    case "user-delay": {
      // the rule first, so nothing new queues; a delayer lets go of what it holds as it stops
      const rules = removeDelayRules(e.namespace, e.tag);
      const pids = delayProcesses({ tag: e.tag, namespace: e.namespace });
      if (rules === 0 && pids.length === 0) return `no delay ${e.tag} in ${e.namespace}`;
      for (const pid of pids) process.kill(pid, "SIGTERM");
      return `deleted ${rules} delay rule(s) ${e.tag} in ${e.namespace}, stopped ${pids.length} delayer(s)`;
    }
  }
}
