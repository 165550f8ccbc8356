import type { ThresholdResult, Verdict } from "./verdict.js";

function xml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}

/**
 * JUnit XML, one test case per threshold: CI systems show a breached threshold as a failed test
 * whose message carries the observed value, the limit and the population.
 */
export function junitXml(verdict: Verdict, suiteName: string, timeSeconds: number): string {
  const failures = verdict.results.filter((r) => r.status === "fail" || r.status === "no-data").length;
  const cases = verdict.results.map((r) => {
    const open = `    <testcase classname="${xml(suiteName)}.${xml(r.metric)}" name="${xml(r.threshold)}" time="0">`;
    if (r.status === "fail" || r.status === "no-data") {
      return `${open}\n      <failure message="${xml(r.message)}" type="${r.status === "no-data" ? "NoData" : "ThresholdBreached"}">${xml(r.message)}</failure>\n    </testcase>`;
    }
    return `${open}\n      <system-out>${xml(`${r.status.toUpperCase()}: ${r.message}`)}</system-out>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="${xml(suiteName)}" tests="${verdict.results.length}" failures="${failures}" time="${timeSeconds.toFixed(1)}">
  <testsuite name="${xml(suiteName)}" tests="${verdict.results.length}" failures="${failures}" errors="0" skipped="0" time="${timeSeconds.toFixed(1)}">
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

/** A markdown table of the verdict, for $GITHUB_STEP_SUMMARY and report.md. */
export function markdownSummary(verdict: Verdict, title: string): string {
  const rows = verdict.results.map(
    (r) =>
      `| ${ICON[r.status]} | \`${r.threshold.replace(/\|/g, "\\|")}\` | ${r.observed === undefined ? "-" : r.observed.toPrecision(4)} | ${r.n} ${r.population} |`,
  );
  return [
    `### ${title}: ${verdict.passed ? "passed" : "FAILED"}`,
    "",
    "| result | threshold | observed | over |",
    "| --- | --- | --- | --- |",
    ...rows,
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
