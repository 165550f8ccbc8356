import type { Figure } from "../run/aggregate.js";

/** A value in the figure's unit, short enough for a table cell. */
export function formatValue(value: number | undefined, unit: Figure["unit"]): string {
  if (value === undefined) return "-";
  switch (unit) {
    case "s":
      return value < 1 ? `${(value * 1000).toFixed(value < 0.01 ? 1 : 0)} ms` : `${value.toFixed(2)} s`;
    case "ratio":
      return `${(value * 100).toFixed(value < 0.1 ? 2 : 1)}%`;
    case "bps":
      return value >= 1e6 ? `${(value / 1e6).toFixed(2)} Mb/s` : `${(value / 1e3).toFixed(0)} kb/s`;
    case "count":
      return String(Math.round(value));
  }
}

/**
 * `N still reconnecting (the longest for X s), ` when participants were still trying to get back in
 * at the end, else nothing: a participant that is reconnecting is not connected.
 */
export function reconnectingAtEnd(p: { readonly reconnectingAtEndS?: readonly number[] }): string {
  const stuck = p.reconnectingAtEndS ?? [];
  if (stuck.length === 0) return "";
  return `${stuck.length} still reconnecting (the longest for ${formatValue(stuck[0], "s")}), `;
}
