import { execFileSync } from "node:child_process";
import { TestbedError } from "./errors.js";

const TABLE = "lkswarm_fault";

function nft(namespace: string, args: readonly string[], input?: string): string {
  return execFileSync("ip", ["netns", "exec", namespace, "nft", ...args], {
    encoding: "utf8",
    stdio: ["pipe", "pipe", "pipe"],
    ...(input !== undefined ? { input } : {}),
  });
}

/**
 * Random packet loss on a node's UDP (media) traffic, carried out by nftables inside the node's own
 * network namespace, so it touches that node alone. `egress` drops what the node sends (media toward
 * subscribers, RTCP toward publishers); `ingress` what it receives. The rule lives in the namespace
 * and goes with it, so a testbed's `down` leaves no rule behind.
 */
export class PacketLoss {
  private constructor(
    readonly namespace: string,
    readonly ratio: number,
  ) {}

  static inject(
    namespace: string | undefined,
    ratio: number,
    direction: "egress" | "ingress" = "egress",
  ): PacketLoss {
    if (namespace === undefined) {
      throw new TestbedError(
        "bad-option",
        "packet loss needs the node in its own network namespace: start the testbed with --netns",
      );
    }
    if (!(ratio > 0 && ratio <= 1))
      throw new TestbedError("bad-option", `loss ratio: expected a number in (0, 1], got ${ratio}`);
    const hook = direction === "egress" ? "output" : "input";
    const perMille = Math.round(ratio * 1000);
    nft(
      namespace,
      ["-f", "-"],
      `table inet ${TABLE}
delete table inet ${TABLE}
table inet ${TABLE} {
  chain loss {
    type filter hook ${hook} priority 0; policy accept;
    meta l4proto udp numgen random mod 1000 < ${perMille} counter drop
  }
}
`,
    );
    return new PacketLoss(namespace, ratio);
  }

  /** Packets the rule has dropped so far: proof the fault took effect. */
  droppedPackets(): number {
    const listing = nft(this.namespace, ["list", "table", "inet", TABLE]);
    const match = /counter packets (\d+)/.exec(listing);
    return match === null ? 0 : Number(match[1]);
  }

  remove(): void {
    try {
      nft(this.namespace, ["delete", "table", "inet", TABLE]);
    } catch {
      // the table (or the whole namespace) is already gone
    }
  }
}
