import { TOOL } from "@livekit-swarm/schema";
import { noiseText } from "./baseline.js";
import { formatIn } from "./units.js";
import type { ThresholdResult, Verdict } from "./verdict.js";

/** A result's figure in its metric's unit (units.ts); "-" when there is none. */
function figure(metric: string, v: number | undefined, signed = false): string {
  return v === undefined ? "-" : formatIn(metric, v, signed);
}

/** "baseline 0.41, observed 0.52, delta +0.11 (+26.8%), within noise (p=0.300, n=20/20)" */
function againstBaseline(r: ThresholdResult): string | undefined {
  const b = r.baseline;
  if (b === undefined) return undefined;
  const pct =
    b.deltaRatio !== undefined ? ` (${b.deltaRatio > 0 ? "+" : ""}${(b.deltaRatio * 100).toFixed(1)}%)` : "";
  return `baseline ${figure(r.metric, b.value)}, observed ${figure(r.metric, r.observed)}, delta ${figure(r.metric, b.delta, true)}${pct}, ${noiseText(b.noise)}`;
}

function xml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}

/**
 * JUnit XML, one test case per threshold: CI systems show a breached threshold as a failed test
 * whose message carries the observed value, the limit and the population. A relative threshold's
 * case name also states the baseline value, the observed value and the delta, so a CI test list
 * answers "worse than the last release?" without opening the case.
 */
export function junitXml(
  verdict: Verdict,
  suiteName: string,
  timeSeconds: number,
  /** Failures beside the thresholds' (a merged run's missing shards), one test case each. */
  otherFailures: readonly string[] = [],
): string {
  const failures =
    verdict.results.filter((r) => r.status === "fail" || r.status === "no-data").length +
    otherFailures.length;
  const tests = verdict.results.length + otherFailures.length;
  const cases = verdict.results.map((r) => {
    const vs = againstBaseline(r);
    const name = vs === undefined ? r.threshold : `${r.threshold} [${vs}]`;
    const open = `    <testcase classname="${xml(suiteName)}.${xml(r.metric)}" name="${xml(name)}" time="0">`;
    if (r.status === "fail" || r.status === "no-data") {
      return `${open}\n      <failure message="${xml(r.message)}" type="${r.status === "no-data" ? "NoData" : "ThresholdBreached"}">${xml(r.message)}</failure>\n    </testcase>`;
    }
    return `${open}\n      <system-out>${xml(`${r.status.toUpperCase()}: ${r.message}`)}</system-out>\n    </testcase>`;
  });
  for (const message of otherFailures) {
    cases.push(
      `    <testcase classname="${xml(suiteName)}.run" name="${xml(message)}" time="0">\n      <failure message="${xml(message)}" type="Incomplete">${xml(message)}</failure>\n    </testcase>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="${xml(suiteName)}" tests="${tests}" failures="${failures}" time="${timeSeconds.toFixed(1)}">
  <testsuite name="${xml(suiteName)}" tests="${tests}" failures="${failures}" errors="0" skipped="0" time="${timeSeconds.toFixed(1)}">
    <properties>
      <property name="tool-version" value="${xml(`${TOOL.name} ${TOOL.version}`)}"/>
    </properties>
${cases.join("\n")}
  </testsuite>
</testsuites>
`;
}

const ICON: Record<ThresholdResult["status"], string> = {
  pass: "✅ pass",
  fail: "❌ fail",
  warn: "⚠️ warn",
  "no-data": "❌ no data",
};

/**
 * A markdown table of the verdict, for $GITHUB_STEP_SUMMARY and report.md. With relative
 * thresholds, the baseline value sits beside the observed one, with the delta and the noise test.
 */
export function markdownSummary(verdict: Verdict, title: string): string {
  const withBaseline = verdict.results.some((r) => r.baseline !== undefined);
  const rows = verdict.results.map((r) => {
    const cells = [
      ICON[r.status],
      `\`${r.threshold.replace(/\|/g, "\\|")}\``,
      ...(withBaseline ? [r.baseline === undefined ? "" : figure(r.metric, r.baseline.value)] : []),
      r.observed === undefined ? "-" : `${r.censored === true ? "> " : ""}${formatIn(r.metric, r.observed)}`,
      ...(withBaseline
        ? r.baseline === undefined
          ? ["", ""]
          : [
              `${figure(r.metric, r.baseline.delta, true)}${r.baseline.deltaRatio !== undefined ? ` (${r.baseline.deltaRatio > 0 ? "+" : ""}${(r.baseline.deltaRatio * 100).toFixed(1)}%)` : ""}`,
              noiseText(r.baseline.noise),
            ]
        : []),
      `${r.n} ${r.population}`,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  const header = withBaseline
    ? ["result", "threshold", "baseline", "observed", "delta", "noise", "over"]
    : ["result", "threshold", "observed", "over"];
  return [
    `### ${title}: ${verdict.passed ? "passed" : "FAILED"}`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows,
    "",
    `<sub>${TOOL.name} ${TOOL.version}</sub>`,
    "",
  ].join("\n");
}

/** GitHub Actions workflow commands: an annotation per breached or warned threshold. */
export function githubAnnotations(verdict: Verdict): string[] {
  const escape = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  return verdict.results
    .filter((r) => r.status !== "pass")
    .map(
      (r) =>
        `::${r.status === "warn" ? "warning" : "error"} title=${escape(`threshold ${r.metric}`)}::${escape(r.message)}`,
    );
}
