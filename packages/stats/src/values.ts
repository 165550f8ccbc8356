/**
 * How a stats value read off the wire becomes a number, a kind or an enum: rtc-node hands bigints,
 * protobuf enums and zeros for "absent", a browser plain numbers and strings. Internal to stats.
 */
import type { MediaKind, Milliseconds, QualityLimitationReason } from "./units.js";

/** rtc-node's proto enum IceCandidatePairState: 4 is succeeded. */
export const PAIR_SUCCEEDED = 4;
const QUALITY_LIMITATION_BY_ENUM: readonly QualityLimitationReason[] = ["none", "cpu", "bandwidth", "other"];

/**
 * bigint or finite number to number. Precision beyond 2^53 rounds to the nearest double; a real
 * counter needs centuries at a million packets/s to get there, so only corrupt values are affected,
 * and they stay finite and keep their sign instead of throwing (bigint/number mixing) or giving NaN.
 */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return undefined;
}

/** `packetsLost` is int64 on the wire; a two's-complement wrap seen as a huge unsigned value is read back as negative. */
export function toSignedInt64(v: unknown): number | undefined {
  if (typeof v === "bigint") return Number(BigInt.asIntN(64, v));
  return toNumber(v);
}

export function toTimestampMs(v: unknown): Milliseconds | undefined {
  const us = toNumber(v);
  return us !== undefined && us > 0 ? us / 1000 : undefined;
}

export function toKind(v: unknown): MediaKind {
  return v === "audio" || v === "video" ? v : "unknown";
}

export function toQualityLimitation(v: unknown): QualityLimitationReason | undefined {
  if (typeof v === "number") return QUALITY_LIMITATION_BY_ENUM[v];
  if (v === "none" || v === "cpu" || v === "bandwidth" || v === "other") return v;
  return undefined;
}

export function positive(v: unknown): number | undefined {
  const n = toNumber(v);
  return n !== undefined && n > 0 ? n : undefined;
}

export function nonEmpty(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
