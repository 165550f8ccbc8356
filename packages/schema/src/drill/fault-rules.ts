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
