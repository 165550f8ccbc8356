/** `faults:`, one schema per fault type: the keys every fault has plus the type's own parameters. */
import * as z from "zod";
import type { DrillFault, FaultParams, FaultTarget, FaultType } from "../drill-types.js";
import { faultTypes, simulateScenarios } from "../drill-types.js";
import type { Milliseconds } from "../duration.js";
import { describeValue } from "../duration.js";
import { closestMatches } from "../suggest.js";
import type { Problems } from "./values.js";
import {
  choice,
  duration,
  fail,
  formatShare,
  isMapping,
  matching,
  nested,
  nonEmpty,
  positiveInt,
  required,
  section,
  share,
} from "./values.js";

/** Faults that happen at once: nothing to revert, so no duration. */
const INSTANT: readonly FaultType[] = ["node.thaw", "client.simulate", "client.join"];
/** Faults that take a process restart, a drain or a join to show. */
const SLOW_TO_CONFIRM: readonly FaultType[] = ["node.restart", "redis.restart", "node.drain", "client.join"];

const NODE_SELECTIONS = ["busiest-room-node", "random-node", "all-nodes"] as const;
const TARGET_KINDS = ["node", "share", "ref", "participants"] as const;
const ONE_KIND = "expected one of node, share, ref or participants";
const rooms = ["busiest", "any"] as const;
const directions = ["egress", "ingress", "both"] as const;
const partitionSources = ["all", "redis"] as const;
const TARGET_SHAPES = "{node: 2}, {share: 50%}, {ref: <fault id>}, {participants: 25%, room: busiest}";
const NODE_TARGETS =
  "busiest-room-node, random-node, all-nodes, {node: 2}, {share: 50%} or {ref: <fault id>}";
const PARTICIPANTS_TARGET =
  "client.simulate needs a participants target such as {participants: 25%, room: busiest}";
const THAW_TARGET = "node.thaw needs {ref: <id of a node.freeze fault>}, the freeze it undoes";
const FAULT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function describeTarget(target: FaultTarget): string {
  switch (target.kind) {
    case "busiest-room-node":
    case "random-node":
    case "all-nodes":
    case "redis":
    case "every-room":
      return target.kind;
    case "node":
      return `{node: ${target.index}}`;
    case "share-of-nodes":
      return `{share: ${formatShare(target.share)}}`;
    case "ref":
      return `{ref: ${target.fault}}`;
    case "participants":
      return `{participants: ${formatShare(target.share)}${target.busiestRoomOnly ? ", room: busiest" : ""}}`;
  }
}

const TARGET_EXPECTED = `expected ${NODE_SELECTIONS.join(", ")} or a mapping such as ${TARGET_SHAPES}`;
const targetKeys = section(
  Object.fromEntries([...TARGET_KINDS, "room"].map((key) => [key, z.unknown().optional()])),
  TARGET_EXPECTED,
);
const kindValues = {
  node: positiveInt,
  share: share({ positive: true }),
  ref: nonEmpty("expected the id of an earlier fault"),
  participants: share({ positive: true }),
  room: choice(rooms, "room").default("any"),
};

/** A target as written, before it is held against the fault's type. */
const targetSpec = z
  .unknown()
  .optional()
  .transform((value, ctx): FaultTarget => {
    if (typeof value === "string") {
      const selection = NODE_SELECTIONS.find((s) => s === value);
      if (selection !== undefined) return { kind: selection };
      const [best] = closestMatches(value, NODE_SELECTIONS, 1);
      const hint = best === undefined ? "" : ` (did you mean "${best}"?)`;
      return fail(
        ctx,
        value,
        `unknown target ${describeValue(value)}${hint}; one of ${NODE_SELECTIONS.join(", ")}, or a mapping such as ${TARGET_SHAPES}`,
      );
    }
    const keysRead = nested(ctx, targetKeys, value);
    if (!isMapping(value)) return z.NEVER;
    const kinds = TARGET_KINDS.filter((kind) => value[kind] !== undefined);
    const [kind] = kinds;
    if (kind === undefined) return fail(ctx, value, `${ONE_KIND}, got none`);
    if (kinds.length > 1) return fail(ctx, value, `${ONE_KIND}, got ${kinds.join(" and ")}`);
    if (kind !== "participants" && value.room !== undefined) {
      ctx.issues.push({
        code: "custom",
        path: ["room"],
        message: "room goes with participants, such as {participants: 25%, room: busiest}",
        input: value.room,
      });
      return z.NEVER;
    }
    const read = <S extends z.ZodType>(schema: S, key: string): z.output<S> | undefined =>
      nested(ctx, schema, value[key], [key]);
    switch (kind) {
      case "node": {
        const index = read(kindValues.node, "node");
        return index === undefined || keysRead === undefined ? z.NEVER : { kind, index };
      }
      case "share": {
        const ratio = read(kindValues.share, "share");
        return ratio === undefined || keysRead === undefined
          ? z.NEVER
          : { kind: "share-of-nodes", share: ratio };
      }
      case "ref": {
        const fault = read(kindValues.ref, "ref");
        return fault === undefined || keysRead === undefined ? z.NEVER : { kind, fault };
      }
      case "participants": {
        const ratio = read(kindValues.participants, "participants");
        const room = read(kindValues.room, "room");
        if (ratio === undefined || room === undefined || keysRead === undefined) return z.NEVER;
        return { kind, share: ratio, busiestRoomOnly: room === "busiest" };
      }
    }
  });

/** The target a fault of `type` may have, and its default. */
function faultTarget(type: FaultType) {
  return z
    .unknown()
    .optional()
    .transform((value, ctx): FaultTarget => {
      if (type === "redis.kill" || type === "redis.restart") {
        return value === undefined
          ? { kind: "redis" }
          : fail(ctx, value, `${type} acts on Redis and takes no target`);
      }
      if (type === "client.join") {
        return value === undefined
          ? { kind: "every-room" }
          : fail(
              ctx,
              value,
              "client.join adds participants to every room and takes no target (per-room says how many)",
            );
      }
      if (type === "client.simulate" || type === "node.thaw") {
        const needs = type === "client.simulate" ? PARTICIPANTS_TARGET : THAW_TARGET;
        if (value === undefined) return fail(ctx, value, needs);
        const target = nested(ctx, targetSpec, value);
        if (target === undefined) return z.NEVER;
        if (target.kind === (type === "client.simulate" ? "participants" : "ref")) return target;
        return fail(ctx, value, `${needs}, got ${describeTarget(target)}`);
      }
      if (value === undefined) return { kind: "busiest-room-node" };
      const target = nested(ctx, targetSpec, value);
      if (target === undefined) return z.NEVER;
      if (target.kind !== "participants") return target;
      return fail(
        ctx,
        value,
        `${type} needs a node target: ${NODE_TARGETS}; {participants: ...} is for client.simulate`,
      );
    });
}

const RATE = /^(\d+(?:\.\d+)?)\s*(kbit|mbit)$/;

/** `500kbit` or `2mbit`, in kbit/s. */
const rate = z
  .unknown()
  .optional()
  .transform((value, ctx): number => {
    const [, amount, unit] = typeof value === "string" ? (RATE.exec(value.trim()) ?? []) : [];
    const kbit = Number(amount) * (unit === "mbit" ? 1000 : 1);
    if (amount === undefined || kbit <= 0) {
      return fail(ctx, value, `expected a rate such as 500kbit or 2mbit, got ${describeValue(value)}`);
    }
    return kbit;
  });

const direction = (fallback: (typeof directions)[number]) =>
  choice(directions, "direction").default(fallback);
const grace = duration().default(10_000);

interface ParamShape {
  readonly shape: z.ZodRawShape;
  readonly params: (values: Readonly<Record<string, unknown>>) => FaultParams;
}

/** A fault type's own keys, and how their parsed values become `FaultParams`. */
function parameters<S extends z.ZodRawShape>(
  shape: S,
  toParams: (values: z.output<z.ZodObject<S>>) => FaultParams,
): ParamShape {
  // The fault's section parsed these keys with `shape`, so its output has their types.
  return { shape, params: (values) => toParams(values as z.output<z.ZodObject<S>>) };
}

const none = parameters({}, () => ({}));
const graceOnly = parameters({ grace }, (v) => ({ graceMs: v.grace }));

const faultParams: Readonly<Record<FaultType, ParamShape>> = {
  "node.kill": none,
  "node.freeze": none,
  "node.thaw": none,
  "node.drain": graceOnly,
  "node.restart": graceOnly,
  "redis.kill": none,
  "redis.restart": none,
  "net.partition": parameters(
    { direction: direction("both"), from: choice(partitionSources, "from").default("all") },
    (v) => ({ direction: v.direction, from: v.from }),
  ),
  "net.loss": parameters(
    {
      ratio: required(
        share({ positive: true }),
        "net.loss needs ratio, the share of packets dropped, such as 10%",
      ),
      direction: direction("egress"),
    },
    (v) => ({ ratio: v.ratio, direction: v.direction }),
  ),
  "net.bandwidth": parameters(
    { rate: required(rate, "net.bandwidth needs rate, such as 500kbit or 2mbit") },
    (v) => ({ rateKbit: v.rate }),
  ),
  "net.delay": parameters(
    {
      delay: required(
        duration({ positive: true }),
        "net.delay needs delay, the added one-way delay, such as 100ms",
      ),
      jitter: duration().nullable().default(null),
    },
    (v) => (v.jitter === null ? { delayMs: v.delay } : { delayMs: v.delay, jitterMs: v.jitter }),
  ),
  "client.simulate": parameters(
    {
      scenario: required(
        choice(simulateScenarios, "simulate scenario"),
        `client.simulate needs scenario, one of ${simulateScenarios.join(", ")}`,
      ),
    },
    (v) => ({ scenario: v.scenario }),
  ),
  "client.join": parameters({ "per-room": positiveInt.default(1) }, (v) => ({ perRoom: v["per-room"] })),
};

const idField = matching(FAULT_ID, 'expected up to 64 letters, digits, ".", "_" or "-", such as kill')
  .nullable()
  .default(null);
const typeField = required(
  choice(faultTypes, "fault type"),
  `missing: expected one of ${faultTypes.join(", ")}`,
);

const paramKeys = (type: FaultType): string[] => Object.keys(faultParams[type].shape);
const FAULT_KEYS = ["id", "type", "target", "at", "duration", "confirm-within"];
const ALL_FAULT_KEYS = [...new Set([...FAULT_KEYS, ...faultTypes.flatMap(paramKeys)])];

/** The keys every fault has, for a fault of `type`, in the order their problems are reported. */
function commonShape(type: FaultType) {
  return {
    type: z.unknown().optional(),
    id: idField,
    target: faultTarget(type),
    at: duration().default(0),
    duration: INSTANT.includes(type)
      ? z
          .unknown()
          .optional()
          .transform((value, ctx) =>
            value === undefined || value === null
              ? null
              : fail(ctx, value, `${type} is instant and takes no duration`),
          )
      : duration({ positive: true }).nullable().default(null),
    "confirm-within": duration({ positive: true }).default(SLOW_TO_CONFIRM.includes(type) ? 10_000 : 5000),
  };
}

function faultSchema(type: FaultType) {
  return section(
    { ...commonShape(type), ...faultParams[type].shape },
    "expected a mapping with type, target, at and duration",
    (key) => {
      const owners = faultTypes.filter((other) => paramKeys(other).includes(key));
      return owners.length === 0
        ? undefined
        : `${type} takes no ${key} (${key} is for ${owners.join(" and ")})`;
    },
  );
}

/** One fault as far as it could be read on its own; the rules between faults come after. */
export interface FaultDraft {
  readonly id: string | undefined;
  /** False when the id is the `<type>-<position>` default. */
  readonly idGiven: boolean;
  readonly type: FaultType | undefined;
  readonly target: FaultTarget | undefined;
  readonly at: Milliseconds | undefined;
  /** Null: the fault lasts until the drill rolls it back. */
  readonly duration: Milliseconds | null | undefined;
  readonly fault: DrillFault | undefined;
}

function parseFault(p: Problems, value: unknown, index: number): FaultDraft {
  const path = ["faults", index];
  const unread: FaultDraft = {
    id: undefined,
    idGiven: false,
    type: undefined,
    target: undefined,
    at: undefined,
    duration: undefined,
    fault: undefined,
  };
  if (!isMapping(value)) {
    p.at(path, `expected a mapping with type, target, at and duration, got ${describeValue(value)}`);
    return unread;
  }
  const type = p.read(typeField, value.type, [...path, "type"]);
  if (type === undefined) {
    const keysOnly = section(
      Object.fromEntries(ALL_FAULT_KEYS.map((key) => [key, key === "id" ? idField : z.unknown().optional()])),
      "",
    );
    p.read(keysOnly, value, path);
    const givenId = idField.safeParse(value.id).data;
    return { ...unread, id: givenId ?? undefined, idGiven: givenId !== null && givenId !== undefined };
  }
  const read = p.read(faultSchema(type), value, path);
  if (read === undefined) {
    // What can still be read feeds the checks between faults.
    const common = commonShape(type);
    const givenId = common.id.safeParse(value.id).data;
    return {
      ...unread,
      id: givenId === null ? `${type}-${index + 1}` : givenId,
      idGiven: givenId !== null && givenId !== undefined,
      type,
      target: common.target.safeParse(value.target).data,
      at: common.at.safeParse(value.at).data,
      duration: common.duration.safeParse(value.duration).data,
    };
  }
  const id = read.id ?? `${type}-${index + 1}`;
  const fault: DrillFault = {
    id,
    type,
    target: read.target,
    at: read.at,
    duration: read.duration,
    confirmWithin: read["confirm-within"],
    params: faultParams[type].params(read),
  };
  return {
    id,
    idGiven: read.id !== null,
    type,
    target: fault.target,
    at: fault.at,
    duration: fault.duration,
    fault,
  };
}

export function parseFaults(p: Problems, value: unknown): FaultDraft[] | undefined {
  const expected = "expected a list of faults, each with a type such as node.kill";
  if (value === undefined) {
    p.at(["faults"], `missing: ${expected}`);
    return;
  }
  if (!Array.isArray(value)) {
    p.at(["faults"], `${expected}, got ${describeValue(value)}`);
    return;
  }
  if (value.length === 0) {
    p.at(["faults"], `${expected}, got an empty list`);
    return;
  }
  return value.map((fault: unknown, i) => parseFault(p, fault, i));
}
