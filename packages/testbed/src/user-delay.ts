/**
 * Delay and jitter in user space, for kernels without netem: a netfilter queue on the node's side of
 * its veth, and `lkswarm-delay` (tools/net-delay, built by scripts/setup) holding each packet of it.
 *
 * The rule is iptables' NFQUEUE target in the namespace's mangle/POSTROUTING chain (and, when what
 * comes in is held too, a second one in mangle/PREROUTING on the same queue): nftables' own
 * `queue` statement needs the kernel's nft_queue, which kernels without netem tend to lack too,
 * while the xtables target goes through nft_compat. `--queue-bypass` lets packets through untouched
 * whenever no delayer listens, so a killed delayer leaves the node reachable.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import { TOOLS_BIN } from "./binaries.js";
import { TestbedError } from "./errors.js";
import { inNamespace, Qdisc } from "./faults.js";
import { namespaceExists } from "./netns.js";

/** Our rules carry this comment prefix (then the fault's tag), so a leftover check can find them. */
export const DELAY_RULE_PREFIX = "lkswarm_delay_";
export const DELAY_BINARY = "lkswarm-delay";
const TAG = /^[A-Za-z0-9_]{1,48}$/;
const OUR_COMMENT = new RegExp(`--comment "?(${DELAY_RULE_PREFIX}[A-Za-z0-9_]+)"?`);

/** What the delayer did, as it says when it stops. */
export interface DelaySummary {
  readonly packets: number;
  readonly rtp: number;
  readonly holdMeanMs: number;
  readonly holdMinMs: number;
  readonly holdMaxMs: number;
  /** Held packets let go before their time because too many were held at once. */
  readonly releasedEarly: number;
  /** Queue messages the kernel could not hand over (their packets were dropped). */
  readonly lostMessages: number;
  readonly verdictErrors: number;
  /**
   * Packets timed from the kernel's receive stamp, where they reached the hook (packets coming in);
   * the rest from when the delayer read them. Absent from a delayer built before it wrote it.
   */
  readonly kernelStamped?: number;
}

export interface UserDelayOptions {
  /** Names the rule (`lkswarm_delay_<tag>`) and the process: letters, digits and _. */
  readonly tag: string;
  readonly jitterMs?: number;
  /** `normal` (jitter is the standard deviation, netem's `distribution normal`) or `uniform` (+-jitter). */
  readonly distribution?: "normal" | "uniform";
  /** Every RTP packet released, for checking reported figures against what the network did. */
  readonly truthFile?: string;
  /**
   * What comes in through the device is queued too and held the same, so both directions wait: at
   * 0 ms a request's release and its answer's, in one truth file, time the node's answer.
   */
  readonly incoming?: boolean;
  readonly seed?: number;
  /** The delayer's path (default: LKSWARM_DELAY_BIN, else the tools directory). */
  readonly binary?: string;
}

/** Whether `done` settles within `ms`; the timer goes either way, so it never holds the process. */
async function settlesWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, ms);
  });
  try {
    return await Promise.race([done.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function delayBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.LKSWARM_DELAY_BIN || join(TOOLS_BIN, DELAY_BINARY);
}

type DelayChain = "POSTROUTING" | "PREROUTING";

/** The rule's words after the chain: what `-A` adds and `-D` deletes. */
function ruleSpec(chain: DelayChain, device: string, comment: string, queue: number): string[] {
  return [
    chain === "POSTROUTING" ? "-o" : "-i",
    device,
    "-m",
    "comment",
    "--comment",
    comment,
    "-j",
    "NFQUEUE",
    "--queue-num",
    String(queue),
    "--queue-bypass",
  ];
}

export interface DelayRule {
  readonly comment: string;
  readonly queue: number;
  /** POSTROUTING holds what leaves through the device, PREROUTING what comes in. */
  readonly chain: DelayChain;
  /** The rule's words after `-A <chain>`, as `-D <chain>` takes them. */
  readonly words: readonly string[];
}

/** Our delay rules in a namespace, as `iptables -S` lists them (empty when iptables is missing). */
export function delayRules(namespace: string): DelayRule[] {
  try {
    return parseDelayRules(inNamespace(namespace, "iptables", ["-w", "-t", "mangle", "-S"]));
  } catch {
    return [];
  }
}

/** Our rules in `iptables -t mangle -S`'s listing: an NFQUEUE rule with our comment, in either chain. */
export function parseDelayRules(listing: string): DelayRule[] {
  return listing.split("\n").flatMap((line) => {
    const comment = OUR_COMMENT.exec(line)?.[1];
    const queue = /--queue-num (\d+)/.exec(line)?.[1];
    const chain = /^-A (POSTROUTING|PREROUTING) /.exec(line)?.[1] as DelayChain | undefined;
    if (comment === undefined || queue === undefined || chain === undefined) return [];
    // iptables quotes a comment it lists; ours have no spaces, so the words split plainly
    const words = line
      .slice(`-A ${chain} `.length)
      .trim()
      .split(/\s+/)
      .map((w) => w.replace(/^"(.*)"$/, "$1"));
    return [{ comment, queue: Number(queue), chain, words }];
  });
}

/** Deletes our delay rules in a namespace (all, or those of one tag); returns how many. */
export function removeDelayRules(namespace: string, tag?: string): number {
  let removed = 0;
  for (const rule of delayRules(namespace)) {
    if (tag !== undefined && rule.comment !== `${DELAY_RULE_PREFIX}${tag}`) continue;
    inNamespace(namespace, "iptables", ["-w", "-t", "mangle", "-D", rule.chain, ...rule.words]);
    removed++;
  }
  return removed;
}

/** The inode of a named network namespace (what /proc/PID/ns/net links to), if it exists. */
function namespaceInode(namespace: string): number | undefined {
  try {
    return statSync(`/run/netns/${namespace}`).ino;
  } catch {
    return undefined;
  }
}

/**
 * Delayer processes of ours running now (named `lkswarm_delay_...`): all, those of one tag, or
 * those inside one network namespace. Pids.
 */
export function delayProcesses(
  filter: { readonly tag?: string; readonly namespace?: string } = {},
): number[] {
  const inode = filter.namespace !== undefined ? namespaceInode(filter.namespace) : undefined;
  if (filter.namespace !== undefined && inode === undefined) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (inode !== undefined && readlinkSync(`/proc/${entry}/ns/net`) !== `net:[${inode}]`) continue;
    } catch {
      continue;
    }
    if (!(args[0] ?? "").endsWith(DELAY_BINARY)) continue;
    const named = args[args.indexOf("--name") + 1];
    if (named === undefined || !named.startsWith(DELAY_RULE_PREFIX)) continue;
    if (filter.tag === undefined || named === `${DELAY_RULE_PREFIX}${filter.tag}`) pids.push(Number(entry));
  }
  return pids;
}

/** Parses the delayer's closing line. */
export function parseDelaySummary(output: string): DelaySummary | undefined {
  const line = output
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("{"));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as DelaySummary;
  } catch {
    return undefined;
  }
}

export class UserDelay {
  private stdout = "";
  private stderrText = "";
  /**
   * Settles once the delayer ended and its output streams closed ('exit' can come before the last
   * of stdout is read, the closing line with it: 'close' cannot), or it could not be started.
   */
  private readonly ended: Promise<void>;
  private spawnError = "";
  private summaryRead: Promise<DelaySummary | undefined> | undefined;
  private stopping = false;
  /** When the delayer exited on its own (a kill, a crash): from then packets passed undelayed. */
  private died: number | undefined;

  private constructor(
    readonly namespace: string,
    readonly device: string,
    readonly tag: string,
    readonly queue: number,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderrText += chunk.toString("utf8");
    });
    this.ended = new Promise<void>((resolve) => {
      child.once("close", () => {
        resolve();
      });
      child.once("error", (err) => {
        this.spawnError = err.message;
        resolve();
      });
    });
    void this.ended.then(() => {
      if (!this.stopping) this.died = Date.now();
    });
  }

  /** Epoch ms at which the delayer exited without being stopped; undefined while it runs or once stopped. */
  get diedAtMs(): number | undefined {
    return this.died;
  }

  /** What the delayer wrote to stderr (why it died, when it did). */
  get stderr(): string {
    return this.stderrText.trim();
  }

  get comment(): string {
    return `${DELAY_RULE_PREFIX}${this.tag}`;
  }

  /**
   * Starts a delayer in `namespace` and queues what leaves through `device` to it: every packet
   * then waits `delayMs` plus its jitter draw. Throws a TestbedError naming the fix when the
   * delayer or iptables is missing, or the kernel refuses the queue.
   */
  static async inject(
    namespace: string,
    device: string,
    delayMs: number,
    options: UserDelayOptions,
  ): Promise<UserDelay> {
    if (!TAG.test(options.tag))
      throw new TestbedError(
        "bad-option",
        `delay tag ${JSON.stringify(options.tag)}: expected 1-48 letters, digits or _`,
      );
    if (!(delayMs >= 0 && delayMs <= 60_000))
      throw new TestbedError("bad-option", `delay: expected 0 to 60000 ms, got ${delayMs}`);
    const jitterMs = options.jitterMs ?? 0;
    if (!(jitterMs >= 0 && jitterMs <= 60_000))
      throw new TestbedError("bad-option", `jitter: expected 0 to 60000 ms, got ${jitterMs}`);
    const binary = options.binary ?? delayBinary();
    try {
      accessSync(binary, constants.X_OK);
    } catch {
      throw new TestbedError(
        "missing-binary",
        `${DELAY_BINARY} not found at ${binary}: run \`npm run setup\` (it builds tools/net-delay with cc), or set LKSWARM_DELAY_BIN`,
      );
    }
    if (!namespaceExists(namespace))
      throw new TestbedError("bad-option", `delay: no network namespace ${JSON.stringify(namespace)}`);
    try {
      inNamespace(namespace, "ip", ["link", "show", "dev", device]);
    } catch {
      throw new TestbedError("bad-option", `delay: no device ${JSON.stringify(device)} in ${namespace}`);
    }
    const rules = delayRules(namespace);
    // an accepted packet leaves the chain, so a second queue on the same device would see nothing
    const already = rules.find(
      (r) => r.words[r.words.indexOf(r.chain === "POSTROUTING" ? "-o" : "-i") + 1] === device,
    );
    if (already !== undefined)
      throw new TestbedError(
        "bad-option",
        `${device} in ${namespace} is already delayed (${already.comment}): one delay per device at a time`,
      );
    const used = new Set(rules.map((r) => r.queue));
    let queue = 1;
    while (used.has(queue)) queue++;
    const comment = `${DELAY_RULE_PREFIX}${options.tag}`;
    const args = [
      binary,
      "--name",
      comment,
      "--queue",
      String(queue),
      "--delay-ms",
      String(delayMs),
      "--jitter-ms",
      String(jitterMs),
      "--distribution",
      options.distribution ?? "normal",
      ...(options.seed !== undefined ? ["--seed", String(options.seed)] : []),
      ...(options.truthFile !== undefined ? ["--truth", options.truthFile] : []),
    ];
    const child = spawn("ip", ["netns", "exec", namespace, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const delay = new UserDelay(namespace, device, options.tag, queue, child);
    // true once it printed "ready" (the queue is bound), false if it exited first
    const announced = new Promise<boolean>((resolve) => {
      child.stdout.on("data", () => {
        if (delay.stdout.includes("ready\n")) resolve(true);
      });
      void delay.ended.then(() => {
        resolve(false);
      });
    });
    const ready = (await settlesWithin(announced, 5000)) && (await announced);
    if (!ready) {
      child.kill("SIGKILL");
      await delay.ended;
      const why = delay.stderr.split("\n")[0] || delay.spawnError || "it printed nothing within 5 s";
      throw new TestbedError("bad-option", `the delayer did not start in ${namespace}: ${why}`);
    }
    try {
      const chains: DelayChain[] =
        options.incoming === true ? ["POSTROUTING", "PREROUTING"] : ["POSTROUTING"];
      for (const chain of chains)
        inNamespace(namespace, "iptables", [
          "-w",
          "-t",
          "mangle",
          "-A",
          chain,
          ...ruleSpec(chain, device, comment, queue),
        ]);
    } catch (err) {
      try {
        removeDelayRules(namespace, options.tag); // the first chain's rule, when the second failed
      } catch {
        // the error below says what iptables refused
      }
      await delay.stop();
      const message = messageOf(err);
      // `ip netns exec` says 'exec of "iptables" failed: No such file or directory' where it is missing
      const missing = /ENOENT|not found|exec of "iptables" failed/i.test(message);
      throw new TestbedError(
        missing ? "missing-binary" : "bad-option",
        missing
          ? "delay in user space needs iptables (its NFQUEUE target): run `npm run setup` or `apt-get install iptables`"
          : `iptables refused the delay's queue rule in ${namespace}: ${message.split("\n").find((l) => l.trim() !== "" && !l.startsWith("Command failed")) ?? message}`,
      );
    }
    return delay;
  }

  /** Whether the delayer runs and its rule is listed. */
  present(): boolean {
    return (
      this.child.exitCode === null &&
      this.child.signalCode === null &&
      delayRules(this.namespace).some((r) => r.comment === this.comment && r.queue === this.queue)
    );
  }

  /** Removes the rule first (packets stop queueing), then stops the delayer, which lets go of what it holds. */
  async remove(): Promise<DelaySummary | undefined> {
    try {
      removeDelayRules(this.namespace, this.tag);
    } catch {
      // the namespace is gone, and the rule with it
    }
    return this.stop();
  }

  private stop(): Promise<DelaySummary | undefined> {
    this.summaryRead ??= (async () => {
      this.stopping = true;
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
      if (!(await settlesWithin(this.ended, 5000))) {
        this.stderrText +=
          "\n(it did not stop within 5 s of SIGTERM, and was killed before its closing line)";
        this.child.kill("SIGKILL");
        await this.ended;
      }
      return parseDelaySummary(this.stdout);
    })();
    return this.summaryRead;
  }
}

/** A fault's delay tag on one node: letters, digits and _ (the rule's comment and the process's name). */
export function delayTag(faultId: string, node: string): string {
  return `${faultId}_${node}`.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 48);
}

/** A delay on a node's veth, in user space or by netem: what a drill installs, confirms and removes. */
export interface NodeDelay {
  readonly namespace: string;
  readonly device: string;
  present(): boolean;
  remove(): Promise<unknown>;
  /** What is in place, for the journal's evidence. */
  describe(): string;
  /** Once removed, what the packets really waited (user space only: netem does not say). */
  held(): string | undefined;
  /** Once removed, how the delay stopped holding before its removal (its delayer died), if it did. */
  lapse(): string | undefined;
}

/**
 * Delays what a node sends through its veth by `delayMs` with `jitterMs` (a normal draw's standard
 * deviation, as netem's `distribution normal`): in user space (`lkswarm-delay` on a netfilter
 * queue) where the delayer and iptables are installed, which keeps packets in order and works
 * without the kernel's netem; else `tc netem`. Neither: a TestbedError naming both fixes.
 */
export async function delayNode(
  namespace: string | undefined,
  device: string,
  delayMs: number,
  jitterMs: number,
  tag: string,
): Promise<NodeDelay> {
  if (namespace === undefined)
    throw new TestbedError(
      "bad-option",
      "delay needs the node in its own network namespace: start the testbed with --netns",
    );
  let userSpace: TestbedError;
  try {
    const delay = await UserDelay.inject(namespace, device, delayMs, { tag, jitterMs });
    let done: DelaySummary | undefined;
    let removedAt = 0;
    return {
      namespace,
      device,
      present: () => delay.present(),
      remove: async () => {
        removedAt = Date.now();
        done = await delay.remove();
      },
      describe: () =>
        `${DELAY_BINARY} holding queue ${delay.queue} (${delayMs} ms, jitter ${jitterMs} ms) on ${device} in ${namespace}`,
      // in order, a packet waits for the one before it too: under jitter the mean sits above the delay
      held: () =>
        done === undefined
          ? undefined
          : `${device}: ${done.packets} packets held ${done.holdMeanMs.toFixed(1)} ms on average (${done.holdMinMs.toFixed(1)}-${done.holdMaxMs.toFixed(1)})`,
      // a delayer that died mid-fault left its rule letting packets by: the fault did not last
      lapse: () => {
        const died = delay.diedAtMs;
        if (died === undefined) return undefined;
        const said = delay.stderr.split("\n")[0];
        return `${device}: the delayer exited ${((removedAt - died) / 1000).toFixed(1)} s before the revert${said ? ` (${said})` : ""}, and packets passed undelayed from then`;
      },
    };
  } catch (err) {
    if (!(err instanceof TestbedError && err.reason === "missing-binary")) throw err;
    userSpace = err;
  }
  try {
    const qdisc = Qdisc.delay(namespace, device, delayMs, jitterMs);
    return {
      namespace,
      device,
      present: () => qdisc.present(),
      remove: () => {
        qdisc.remove();
        return Promise.resolve();
      },
      describe: () => `qdisc netem on ${device} in ${namespace}`,
      held: () => undefined,
      lapse: () => undefined,
    };
  } catch (err) {
    const netem = messageOf(err);
    throw new TestbedError("missing-binary", `${userSpace.message}; and ${netem}`);
  }
}
