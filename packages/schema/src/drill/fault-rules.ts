/** The rules between faults, and between the faults and the target: ids, refs, what a backend can do. */
import type { DrillTarget } from "../drill-types.js";
import { formatDuration } from "../duration.js";
import { closestMatches } from "../suggest.js";
import type { FaultDraft } from "./faults.js";
import { describeTarget } from "./faults.js";
import { nodeCountOf } from "./target.js";
import type { Problems } from "./values.js";

/**
 * How many nodes the target of `drafts[index]` hits, when that is known before the drill runs. A ref
 * follows only earlier faults, so a ref to itself (reported elsewhere) cannot loop.
 */
export function nodesHit(
  drafts: readonly FaultDraft[],
  index: number,
  nodeCount: number | null,
): number | null {
  const target = drafts[index]?.target;
  if (target === undefined) return null;
  switch (target.kind) {
    case "busiest-room-node":
    case "random-node":
    case "node":
      return 1;
    case "all-nodes":
      return nodeCount;
    case "share-of-nodes":
      return nodeCount === null ? null : Math.max(1, Math.ceil(target.share * nodeCount));
    case "ref": {
      const referenced = drafts.findIndex((draft) => draft.id === target.fault);
      return referenced >= 0 && referenced < index ? nodesHit(drafts, referenced, nodeCount) : null;
    }
    case "redis":
    case "participants":
    case "every-room":
      return 0;
  }
}

/** Ids are unique; a ref names an earlier fault that hit nodes (a node.thaw, a node.freeze). */
export function checkRefs(p: Problems, drafts: readonly FaultDraft[]): Set<number> {
  const firstIndex = new Map<string, number>();
  drafts.forEach((draft, i) => {
    if (draft.id === undefined) return;
    const first = firstIndex.get(draft.id);
    if (first === undefined) {
      firstIndex.set(draft.id, i);
      return;
    }
    const hint = draft.idGiven ? "" : " (this fault's default id): give it an id";
    p.at(["faults", i, "id"], `duplicate id "${draft.id}", already used by faults[${first}]${hint}`);
  });

  const validRefs = new Set<number>();
  drafts.forEach((draft, i) => {
    if (draft.target === undefined || draft.target.kind !== "ref") return;
    const path = ["faults", i, "target", "ref"];
    const id = draft.target.fault;
    const k = firstIndex.get(id);
    const referenced = k === undefined ? undefined : drafts[k];
    if (k === undefined || referenced === undefined) {
      const earlier = drafts.slice(0, i).flatMap((d) => (d.id === undefined ? [] : [d.id]));
      const [best] = closestMatches(id, earlier, 1);
      p.at(path, `no earlier fault has id "${id}"${best === undefined ? "" : ` (did you mean "${best}"?)`}`);
      return;
    }
    if (k >= i) {
      p.at(
        path,
        k === i
          ? "a fault cannot target itself"
          : `"${id}" is faults[${k}], which comes later: a ref names an earlier fault`,
      );
      return;
    }
    if (referenced.target === undefined || referenced.type === undefined) return;
    if (
      referenced.target.kind === "redis" ||
      referenced.target.kind === "participants" ||
      referenced.target.kind === "every-room"
    ) {
      p.at(path, `"${id}" is a ${referenced.type} fault, which hits no node`);
      return;
    }
    if (draft.type === "node.thaw" && referenced.type !== "node.freeze") {
      p.at(path, `node.thaw undoes a node.freeze, but "${id}" is a ${referenced.type}`);
      return;
    }
    if (draft.type === "node.thaw" && referenced.duration !== null && referenced.duration !== undefined) {
      const lasts = formatDuration(referenced.duration);
      p.at(path, `"${id}" thaws itself after its duration (${lasts}): drop that duration or this node.thaw`);
      return;
    }
    if (draft.at !== undefined && referenced.at !== undefined && draft.at < referenced.at) {
      p.at(
        ["faults", i, "at"],
        `${formatDuration(draft.at)} is before "${id}" (at ${formatDuration(referenced.at)}), whose nodes this fault targets`,
      );
      return;
    }
    validRefs.add(i);
  });
  return validRefs;
}

/** What the backend can do: Redis to kill, SIGSTOP to send, the node a fault names. */
export function checkBackend(p: Problems, drafts: readonly FaultDraft[], target: DrillTarget): void {
  const nodeCount = nodeCountOf(target);
  let redisReported = false;
  drafts.forEach((draft, i) => {
    const { type, fault } = draft;
    if (type === undefined) return;
    const path = ["faults", i];
    if (target.backend === "kubernetes" && (type === "node.freeze" || type === "node.thaw")) {
      p.at(
        [...path, "type"],
        `${type} (${type === "node.freeze" ? "SIGSTOP" : "SIGCONT"}) is not available on kubernetes: a container's PID 1 ignores SIGSTOP from inside its namespace; use the local or compose backend`,
      );
    }
    const fromRedis = fault !== undefined && fault.params.from === "redis";
    if (type.startsWith("redis.") || fromRedis) {
      const what = fromRedis ? "net.partition from redis" : type;
      if (target.backend === "local" && target.nodes === 1) {
        p.at(
          [...path, fromRedis ? "from" : "type"],
          `${what} needs Redis, which a single-node testbed does not run: set target.nodes to 2 or more`,
        );
      } else if (target.backend === "compose" && target.redis === null && !redisReported) {
        redisReported = true;
        p.at(
          ["target", "redis"],
          `missing: ${what} (faults[${i}]) needs the compose service that runs Redis`,
        );
      } else if (target.backend === "kubernetes" && target.redisSelector === null && !redisReported) {
        redisReported = true;
        p.at(
          ["target", "redis-selector"],
          `missing: ${what} (faults[${i}]) needs the Redis pods' label selector, such as app=redis`,
        );
      }
    }
    if (
      draft.target !== undefined &&
      draft.target.kind === "node" &&
      nodeCount !== null &&
      draft.target.index > nodeCount
    ) {
      const which = target.backend === "compose" ? "the services in target.nodes" : "target.nodes";
      p.at(
        [...path, "target", "node"],
        `expected a node from 1 to ${nodeCount} (${which}), got ${draft.target.index}`,
      );
    }
  });
}

/** abort.max-nodes, against every target whose node count is known before the drill runs. */
export function checkMaxNodes(
  p: Problems,
  drafts: readonly FaultDraft[],
  validRefs: ReadonlySet<number>,
  nodeCount: number | null,
  maxNodes: number,
): void {
  // Nodes named by number are known exactly, so their union across faults counts too.
  const named = new Set<number>();
  let unionReported = false;
  drafts.forEach((draft, i) => {
    const hit = draft.target;
    if (hit === undefined || (hit.kind === "ref" && !validRefs.has(i))) return;
    const hits = nodesHit(drafts, i, nodeCount);
    if (hits !== null && hits > maxNodes) {
      const of = hit.kind === "share-of-nodes" ? ` of ${nodeCount ?? "?"}` : "";
      p.at(
        ["faults", i, "target"],
        `${describeTarget(hit)} hits ${hits}${of} nodes, more than abort.max-nodes (${maxNodes})`,
      );
      return;
    }
    if (hit.kind === "node") named.add(hit.index);
    if (hit.kind === "all-nodes" && nodeCount !== null) for (let n = 1; n <= nodeCount; n++) named.add(n);
    if (named.size > maxNodes && !unionReported) {
      unionReported = true;
      p.at(
        ["faults", i, "target"],
        `with the faults before it the drill hits ${named.size} distinct nodes (${[...named].join(", ")}), more than abort.max-nodes (${maxNodes})`,
      );
    }
  });
}

/** Faults on a node's process, beside which a freeze cannot hold: a frozen node killed, a killed one frozen. */
const PROCESS_FAULTS = new Set(["node.kill", "node.freeze", "node.restart", "node.drain"]);

/**
 * Whether the targets of two faults can hit the same node, as far as the drill says before it runs:
 * a named node, the busiest room's node (the same while the swarm is), all or a share of the nodes,
 * or a ref to the other. Two random nodes may differ, and are let through.
 */
function mayShareNode(drafts: readonly FaultDraft[], i: number, j: number): boolean {
  const root = (k: number): number => {
    const t = drafts[k]?.target;
    if (t?.kind !== "ref") return k;
    const referenced = drafts.findIndex((d) => d.id === t.fault);
    return referenced >= 0 && referenced < k ? root(referenced) : k;
  };
  const [a, b] = [root(i), root(j)];
  if (a === b) return true;
  const [ta, tb] = [drafts[a]?.target, drafts[b]?.target];
  if (ta === undefined || tb === undefined) return false;
  const many = (t: typeof ta): boolean => t.kind === "all-nodes" || t.kind === "share-of-nodes";
  if (many(ta) || many(tb)) return true;
  if (ta.kind === "node" && tb.kind === "node") return ta.index === tb.index;
  return ta.kind === "busiest-room-node" && tb.kind === "busiest-room-node";
}

/**
 * A node.freeze holds its node from its start to its duration's end, its node.thaw, or the drill's
 * rollback; another fault on that node's process in that time (a kill, a restart, a drain, a second
 * freeze) is refused, naming both and when the freeze ends. Kills, restarts and drains apart from a
 * freeze are left to the drill's author.
 */
export function checkOverlaps(p: Problems, drafts: readonly FaultDraft[]): void {
  const thawAt = (i: number): number | undefined =>
    drafts.find((d) => d.type === "node.thaw" && d.target?.kind === "ref" && d.target.fault === drafts[i]?.id)
      ?.at;
  const window = (i: number): [number, number] => {
    const d = drafts[i];
    const at = d?.at ?? 0;
    if (d?.type !== "node.freeze") return [at, at + (d?.duration ?? 0)];
    return [at, d.duration !== null && d.duration !== undefined ? at + d.duration : (thawAt(i) ?? Infinity)];
  };
  drafts.forEach((later, j) => {
    if (later.type === undefined || !PROCESS_FAULTS.has(later.type) || later.at === undefined) return;
    for (let i = 0; i < j; i++) {
      const earlier = drafts[i];
      if (earlier?.type === undefined || !PROCESS_FAULTS.has(earlier.type) || earlier.at === undefined)
        continue;
      if (earlier.type !== "node.freeze" && later.type !== "node.freeze") continue;
      const [a0, a1] = window(i);
      const [b0, b1] = window(j);
      if (b0 > a1 || a0 > b1 || (b0 === a1 && earlier.type === "node.freeze") || !mayShareNode(drafts, i, j))
        continue;
      const freeze = earlier.type === "node.freeze" ? i : j;
      const [, thawed] = window(freeze);
      const until = Number.isFinite(thawed)
        ? `until ${formatDuration(thawed)}`
        : "until the drill's rollback (no duration, no node.thaw)";
      p.at(
        ["faults", j, "at"],
        `${later.type} would hit the node faults[${i}] (${earlier.type}) holds, while faults[${freeze}]'s freeze lasts ${until}: one process fault per node at a time; start it after the thaw, or target another node`,
      );
      return;
    }
  });
}
