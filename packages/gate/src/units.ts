/**
 * A threshold's figures in its metric's unit, as every table beside it prints them: seconds as ms
 * below a second and s above, ratios as percentages, milliseconds and percents with their sign. A
 * gate line then reads "observed 9.40%, breaching < 2%" beside a summary in %, never "observed
 * 0.09400, breaching < 0.02". Metrics of other units (counts) print as numbers.
 */
import { metricByName } from "@livekit-swarm/schema";

const sig = (v: number, digits: number): string => String(Number(v.toPrecision(digits)));

/** `v` in `metric`'s unit; `signed` puts a + on a positive value (a delta). */
export function formatIn(metric: string, v: number, signed = false): string {
  const plus = signed && v > 0 ? "+" : "";
  switch (metricByName(metric)?.unit) {
    case "seconds":
      return Math.abs(v) < 1 ? `${plus}${sig(v * 1000, 3)} ms` : `${plus}${sig(v, 4)} s`;
    case "milliseconds":
      return `${plus}${sig(v, 4)} ms`;
    case "ratio":
      return `${plus}${(v * 100).toFixed(2)}%`;
    case "percent":
      return `${plus}${sig(v, 4)}%`;
    default:
      return `${plus}${Number.isInteger(v) ? String(v) : v.toPrecision(4)}`;
  }
}
