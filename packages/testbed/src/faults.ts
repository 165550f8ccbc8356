import { execFileSync } from "node:child_process";
import { messageOf } from "@livekit-swarm/schema";
import { TestbedError } from "./errors.js";

/** Every table our faults create starts with this, so a leftover check can find them. */
export const FAULT_TABLE_PREFIX = "lkswarm_";
const LOSS_TABLE = `${FAULT_TABLE_PREFIX}fault`;

function run(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    ...(input !== undefined ? { input } : {}),
  });
}

/** Runs `command` inside a network namespace and returns its stdout (throws with its stderr). */
export function inNamespace(
  namespace: string,
  command: string,
  args: readonly string[],
  input?: string,
): string {
  return run("ip", ["netns", "exec", namespace, command, ...args], input);
}

function requireNamespace(namespace: string | undefined, what: string): string {
  if (namespace === undefined) {
    throw new TestbedError(
      "bad-option",
      `${what} needs the node in its own network namespace: start the testbed with --netns`,
    );
  }
  return namespace;
}

/** A table name nftables accepts, unique per fault: `lkswarm_<tag>`. */
export function faultTableName(tag: string): string {
  return `${FAULT_TABLE_PREFIX}${tag.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 40)}`;
}

/** A host table's name: ours by its prefix (a leftover check finds it), and safe inside an nft script. */
const HOST_TABLE = new RegExp(`^${FAULT_TABLE_PREFIX}[A-Za-z0-9_]{1,48}$`);

/**
 * An nftables table of our own: created whole (replacing a previous one of the same name), listed
 * to prove it is there, deleted whole. Inside a node's network namespace (`apply`) it goes with the
 * namespace, so a testbed's `down` leaves no rule behind; on the host's own ruleset (`applyOnHost`,
 * for a testbed on host loopback) only `remove` takes it away, so its caller removes it in a
 * `finally`.
 */
export class NftFault {
  protected constructor(
    /** The node's network namespace; undefined for a table on the host's own ruleset. */
    readonly namespace: string | undefined,
    readonly table: string,
  ) {}

  static apply(namespace: string, table: string, chains: string): NftFault {
    const fault = new NftFault(namespace, table);
    fault.create(chains);
    return fault;
  }

  /**
   * The same table on the host's ruleset, where a testbed on loopback has its nodes: it sees every
   * process's traffic, so its rules must match the node's ports. `table` must start with
   * `lkswarm_` (letters, digits and `_` after it).
   */
  static applyOnHost(table: string, chains: string): NftFault {
    if (!HOST_TABLE.test(table))
      throw new TestbedError(
        "bad-option",
        `host nftables table ${JSON.stringify(table)}: expected lkswarm_ and then 1-48 letters, digits or _`,
      );
    const fault = new NftFault(undefined, table);
    fault.create(chains);
    return fault;
  }

  private create(chains: string): void {
    this.nft(
      ["-f", "-"],
      `table inet ${this.table}
delete table inet ${this.table}
table inet ${this.table} {
${chains}
}
`,
    );
  }

  private nft(args: readonly string[], input?: string): string {
    return this.namespace !== undefined
      ? inNamespace(this.namespace, "nft", args, input)
      : run("nft", args, input);
  }

  /** The table as nftables lists it now; throws when it is not there. */
  listing(): string {
    return this.nft(["list", "table", "inet", this.table]);
  }

  present(): boolean {
    try {
      this.listing();
      return true;
    } catch {
      return false;
    }
  }

  /** Packets the table's dropping rules have dropped so far: proof the fault took effect. */
  droppedPackets(): number {
    let total = 0;
    for (const match of this.listing().matchAll(/counter packets (\d+) bytes \d+ drop/g))
      total += Number(match[1]);
    return total;
  }

  remove(): void {
    try {
      this.nft(["delete", "table", "inet", this.table]);
    } catch {
      // the table (or the whole namespace) is already gone
    }
  }
}

/** What a loss rule did to one kind of RTP packet: how many it saw, how many it dropped. */
export interface RtpTally {
  readonly seen: number;
  readonly dropped: number;
  /** dropped / seen: the drop this kind really got (undefined before any packet was seen) */
  readonly ratio: number | undefined;
}

/**
 * RTP payload types to tally by name, e.g. `{ audio: [111, 63], video: [96] }` (LiveKit's Opus, RED
 * and VP8). A UDP datagram counts as RTP of a type when its first two bits are version 2 and the 7
 * payload-type bits of its second byte match: SRTP leaves that header in clear. STUN and DTLS start
 * with bits 00, so never match; RTCP (version 2, packet types 192-223) reads 64-95 in those bits,
 * which is why RFC 5761 keeps RTP off 64-95 when both share a port, and so do tallies.
 */
export type RtpKinds = Readonly<Record<string, readonly number[]>>;

const TALLY_NAME = /^[a-z][a-z0-9_]{0,31}$/;

/**
 * Random packet loss on a node's UDP (media) traffic. `egress` drops what the node sends (media
 * toward subscribers, RTCP toward publishers); `ingress` what it receives; `both` either.
 *
 * With `rtpOnly`, only RTP and RTCP (version 2 in the first two bits) are dropped: STUN and DTLS
 * (bits 00) pass, so ICE and the DTLS handshake complete and consent holds while no media flows, a
 * media plane that fails under a live signalling plane.
 *
 * With `tally`, the rule also counts, per named kind of RTP packet, how many it saw and how many it
 * dropped, so a test can compare a reported loss with the drop those packets really got rather than
 * with the nominal ratio (a 10% random drop of 13,000 packets lands anywhere in about 9.2-10.8%).
 */
export class PacketLoss extends NftFault {
  readonly ratio: number;
  private readonly kinds: readonly string[];

  private constructor(namespace: string, table: string, ratio: number, kinds: readonly string[]) {
    super(namespace, table);
    this.ratio = ratio;
    this.kinds = kinds;
  }

  static inject(
    namespace: string | undefined,
    ratio: number,
    direction: "egress" | "ingress" | "both" = "egress",
    table = LOSS_TABLE,
    options: { readonly tally?: RtpKinds; readonly rtpOnly?: boolean } = {},
  ): PacketLoss {
    const ns = requireNamespace(namespace, "packet loss");
    if (!(ratio > 0 && ratio <= 1))
      throw new TestbedError("bad-option", `loss ratio: expected a number in (0, 1], got ${ratio}`);
    const tally = Object.entries(options.tally ?? {});
    for (const [name, types] of tally) {
      if (!TALLY_NAME.test(name))
        throw new TestbedError(
          "bad-option",
          `tally name ${JSON.stringify(name)}: expected [a-z][a-z0-9_]{0,31}`,
        );
      const rtp = (t: number): boolean => Number.isInteger(t) && t >= 0 && t <= 127 && (t < 64 || t > 95);
      if (types.length === 0 || !types.every(rtp))
        throw new TestbedError(
          "bad-option",
          `tally ${name}: expected RTP payload types in 0-63 or 96-127 (64-95 would count RTCP too), got ${JSON.stringify(types)}`,
        );
    }
    const perMille = Math.round(ratio * 1000);
    const hooks = direction === "both" ? ["output", "input"] : [direction === "egress" ? "output" : "input"];
    // numgen's range is 0-999: a whole drop is a plain rule (nft refuses "< 1000")
    const sample =
      (options.rtpOnly === true ? " @th,64,2 2" : "") +
      (perMille >= 1000 ? "" : ` numgen random mod 1000 < ${perMille}`);
    const counts = (verb: string): string =>
      tally
        .map(
          ([name, types]) =>
            `\n    @th,64,2 2 @th,73,7 { ${types.join(", ")} } counter comment "${verb} ${name}"`,
        )
        .join("");
    const chains = hooks
      .map((hook) =>
        tally.length === 0
          ? `  chain loss_${hook} {
    type filter hook ${hook} priority 0; policy accept;
    meta l4proto udp${sample} counter drop
  }`
          : // one random draw per packet: the drop chain tallies what it is given, then drops it
            `  chain loss_${hook} {
    type filter hook ${hook} priority 0; policy accept;
    meta l4proto udp jump loss_${hook}_sample
  }
  chain loss_${hook}_sample {${counts("seen")}
   ${sample} jump loss_${hook}_drop
  }
  chain loss_${hook}_drop {${counts("dropped")}
    counter drop
  }`,
      )
      .join("\n");
    NftFault.apply(ns, table, chains);
    return new PacketLoss(
      ns,
      table,
      ratio,
      tally.map(([name]) => name),
    );
  }

  /** Per tallied kind, what the rule saw and dropped so far (summed over its hooks). */
  tally(): Record<string, RtpTally> {
    return readTally(this.listing(), this.kinds);
  }
}

/** The tally counters of a loss table's listing (`nft list table`), per kind named. */
export function readTally(listing: string, kinds: readonly string[]): Record<string, RtpTally> {
  const read = (verb: string, name: string): number => {
    let total = 0;
    for (const m of listing.matchAll(/counter packets (\d+) bytes \d+ comment "([a-z]+) ([a-z0-9_]+)"/g))
      if (m[2] === verb && m[3] === name) total += Number(m[1]);
    return total;
  };
  return Object.fromEntries(
    kinds.map((name) => {
      const seen = read("seen", name);
      const dropped = read("dropped", name);
      return [name, { seen, dropped, ratio: seen > 0 ? dropped / seen : undefined }];
    }),
  );
}

/**
 * Cuts a node off: every packet to or from anything outside its namespace is dropped (its own
 * loopback still works), or with `redisOnly` just its traffic with Redis at `redis`. The node
 * process keeps running, as in a real partition.
 */
export class Partition extends NftFault {
  static cut(
    namespace: string | undefined,
    options: {
      readonly direction?: "egress" | "ingress" | "both";
      readonly table?: string;
      readonly redis?: { readonly host: string; readonly port: number };
    } = {},
  ): Partition {
    const ns = requireNamespace(namespace, "a network partition");
    const direction = options.direction ?? "both";
    const hooks = direction === "both" ? ["output", "input"] : [direction === "egress" ? "output" : "input"];
    const match = (hook: string): string => {
      if (options.redis === undefined) return `${hook === "output" ? "oifname" : "iifname"} != "lo"`;
      const { host, port } = options.redis;
      return hook === "output" ? `ip daddr ${host} tcp dport ${port}` : `ip saddr ${host} tcp sport ${port}`;
    };
    const chains = hooks
      .map(
        (hook) => `  chain cut_${hook} {
    type filter hook ${hook} priority 0; policy accept;
    ${match(hook)} counter drop
  }`,
      )
      .join("\n");
    const applied = NftFault.apply(ns, options.table ?? faultTableName("partition"), chains);
    return new Partition(applied.namespace, applied.table);
  }
}

/**
 * A traffic-control qdisc on the node's side of its veth (what the node sends): `tc tbf` for a
 * bandwidth cap, `tc netem` for delay and jitter (netem needs the kernel's sch_netem module; where
 * it is missing, user-delay.ts delays in user space).
 */
export class Qdisc {
  private constructor(
    readonly namespace: string,
    readonly device: string,
    readonly kind: "tbf" | "netem",
  ) {}

  static bandwidth(namespace: string | undefined, device: string, rateKbit: number): Qdisc {
    const ns = requireNamespace(namespace, "a bandwidth cap");
    if (!(rateKbit > 0)) throw new TestbedError("bad-option", `rate: expected kbit/s > 0, got ${rateKbit}`);
    // a burst of ~10 ms at the rate (at least 4 KB) and 200 ms of queue before tail drop
    const burstBytes = Math.max(4096, Math.round((rateKbit * 1000) / 8 / 100));
    Qdisc.replace(ns, device, [
      "tbf",
      "rate",
      `${rateKbit}kbit`,
      "burst",
      String(burstBytes),
      "latency",
      "200ms",
    ]);
    return new Qdisc(ns, device, "tbf");
  }

  static delay(namespace: string | undefined, device: string, delayMs: number, jitterMs = 0): Qdisc {
    const ns = requireNamespace(namespace, "delay");
    try {
      Qdisc.replace(ns, device, [
        "netem",
        "delay",
        `${delayMs}ms`,
        ...(jitterMs > 0 ? [`${jitterMs}ms`, "distribution", "normal"] : []),
      ]);
    } catch (err) {
      const message = messageOf(err);
      if (/unknown|not found|No such file|Specified qdisc kind/i.test(message)) {
        throw new TestbedError(
          "bad-option",
          "delay and jitter in the kernel need tc netem, and this kernel has no netem qdisc (tc: Specified qdisc kind is unknown; the sch_netem module is missing): `npm run setup` builds lkswarm-delay, which delays in user space instead, or run the drill on a host whose kernel has netem",
        );
      }
      throw err;
    }
    return new Qdisc(ns, device, "netem");
  }

  private static replace(namespace: string, device: string, spec: readonly string[]): void {
    inNamespace(namespace, "tc", ["qdisc", "replace", "dev", device, "root", ...spec]);
  }

  /** Whether the qdisc is installed now (tc lists it on the device). */
  present(): boolean {
    try {
      return inNamespace(this.namespace, "tc", ["qdisc", "show", "dev", this.device]).includes(
        `qdisc ${this.kind} `,
      );
    } catch {
      return false;
    }
  }

  remove(): void {
    try {
      inNamespace(this.namespace, "tc", ["qdisc", "del", "dev", this.device, "root"]);
    } catch {
      // already gone (or the namespace with it)
    }
  }
}

/** Tables of ours left in a namespace (a leftover check). */
export function faultTables(namespace: string): string[] {
  try {
    return inNamespace(namespace, "nft", ["list", "tables"])
      .split("\n")
      .map((l) => l.trim().split(/\s+/).pop() ?? "")
      .filter((t) => t.startsWith(FAULT_TABLE_PREFIX));
  } catch {
    return [];
  }
}

/** Root qdiscs of ours (tbf, netem) installed in a namespace (a leftover check). */
export function faultQdiscs(namespace: string): { device: string; kind: string }[] {
  try {
    return inNamespace(namespace, "tc", ["qdisc", "show"])
      .split("\n")
      .flatMap((line) => {
        const m = /^qdisc (tbf|netem) \S+ dev (\S+) root/.exec(line.trim());
        return m?.[1] !== undefined && m[2] !== undefined ? [{ kind: m[1], device: m[2] }] : [];
      });
  } catch {
    return [];
  }
}

/** Deletes a table of ours by name (`swarm chaos rollback`, from the fault ledger). */
export function removeFaultTable(namespace: string, table: string): void {
  inNamespace(namespace, "nft", ["delete", "table", "inet", table]);
}

/** Deletes the root qdisc of a device (`swarm chaos rollback`, from the fault ledger). */
export function removeRootQdisc(namespace: string, device: string): void {
  inNamespace(namespace, "tc", ["qdisc", "del", "dev", device, "root"]);
}
