import { formatFigure, noiseText, type ThresholdResult } from "@livekit-swarm/gate";
import { metricByName } from "@livekit-swarm/schema";
import { htmlTable } from "./page.js";

const unitOf = (r: ThresholdResult): string | undefined => metricByName(r.metric)?.unit;

/** Whether a difference from the baseline is in the direction the threshold forbids. */
export function deltaClass(r: ThresholdResult): "worse" | "better" | "noise" | undefined {
  const delta = r.baseline?.delta;
  if (delta === undefined || delta === 0) return undefined;
  if (r.baseline?.noise?.withinNoise === true) return "noise";
  const higherIsWorse = r.op === "<" || r.op === "<=";
  const lowerIsWorse = r.op === ">" || r.op === ">=";
  if (!higherIsWorse && !lowerIsWorse) return "worse";
  return delta > 0 === higherIsWorse ? "worse" : "better";
}

function deltaText(r: ThresholdResult): string {
  const b = r.baseline;
  if (b?.delta === undefined) return "-";
  const relative =
    b.deltaRatio !== undefined ? ` (${b.deltaRatio > 0 ? "+" : ""}${(b.deltaRatio * 100).toFixed(1)}%)` : "";
  return `${formatFigure(b.delta, unitOf(r), true)}${relative}`;
}

/** Every threshold: its status, observed against limit, and the baseline beside it when relative. */
export function verdictTable(results: readonly ThresholdResult[]): string {
  const relative = results.some((r) => r.baseline !== undefined);
  return htmlTable<ThresholdResult>(
    [
      { header: "status", text: (r) => r.status, className: (r) => r.status },
      { header: "threshold", text: (r) => r.threshold },
      {
        header: "observed",
        text: (r) => `${r.censored === true ? "> " : ""}${formatFigure(r.observed, unitOf(r))}`,
      },
      { header: "limit", text: (r) => `${r.op} ${formatFigure(r.limit, unitOf(r))}` },
      { header: "over", text: (r) => `${r.n} ${r.population}` },
      ...(relative
        ? [
            { header: "baseline", text: (r: ThresholdResult) => formatFigure(r.baseline?.value, unitOf(r)) },
            { header: "delta", text: deltaText, className: deltaClass },
            {
              header: "noise (Mann-Whitney)",
              text: (r: ThresholdResult) => (r.baseline === undefined ? "-" : noiseText(r.baseline.noise)),
            },
          ]
        : []),
    ],
    results,
    { empty: "No thresholds.", id: "thresholds" },
  );
}
