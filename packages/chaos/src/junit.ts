/**
 * JUnit XML of a drill (`junit.xml`), so CI shows a drill as tests: one per expectation, per
 * steady-state probe, per fault (was it confirmed?) and one for the drill's execution status.
 */
import type { DrillJournal, DrillStatus } from "./journal.js";
import { mediaBack } from "./report.js";

interface TestCase {
  readonly name: string;
  readonly timeMs: number;
  readonly failure?: { readonly type: string; readonly message: string; readonly body: string };
  readonly skipped?: string;
  readonly out?: string;
}

// Characters XML 1.0 cannot carry at all, even escaped: a control character in a probe's detail
// would otherwise make the whole report unparseable.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlText(text: string): string {
  return text.replace(NOT_XML, "\uFFFD").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Also escapes quotes, and whitespace that attribute normalisation would turn into spaces. */
function xmlAttr(text: string): string {
  return xmlText(text)
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\t/g, "&#9;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;");
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function expectationCases(journal: DrillJournal): TestCase[] {
  return journal.expectations.map((e) => {
    const out = `expected ${e.expected}; observed ${e.observed}`;
    if (e.notEvaluated !== undefined)
      return { name: e.name, timeMs: 0, skipped: `not evaluated: ${e.notEvaluated}`, out };
    if (e.met === null) return { name: e.name, timeMs: 0, skipped: "not enough data", out };
    if (!e.met) {
      return {
        name: e.name,
        timeMs: 0,
        failure: {
          type: "ExpectationNotMet",
          message: `observed ${e.observed}, expected ${e.expected}`,
          body: `expected: ${e.expected}\nobserved: ${e.observed}`,
        },
      };
    }
    return { name: e.name, timeMs: 0, out };
  });
}

function steadyStateCases(journal: DrillJournal): TestCase[] {
  const { before, after } = journal.steadyState;
  return [...before.map((p) => ({ when: "before", p })), ...after.map((p) => ({ when: "after", p }))].map(
    ({ when, p }) => {
      const observed = p.observed === null ? "no value" : String(p.observed);
      const detail = p.detail === null ? "" : ` (${p.detail})`;
      const name = `steady-state ${when}: ${p.name}`;
      if (p.met) return { name, timeMs: 0, out: `observed ${observed}, tolerance ${p.tolerance}${detail}` };
      return {
        name,
        timeMs: 0,
        failure: {
          type: "ToleranceNotMet",
          message: `observed ${observed}, tolerance ${p.tolerance}${detail}`,
          body: `tolerance: ${p.tolerance}\nobserved: ${observed}${p.detail === null ? "" : `\n${p.detail}`}`,
        },
      };
    },
  );
}

function faultCases(journal: DrillJournal): TestCase[] {
  return journal.faults.map((f) => {
    const name = `fault ${f.id} confirmed`;
    const timeMs = f.injectLatencyMs ?? 0;
    if (f.error !== null || f.confirmedAt === null) {
      const message = f.error ?? `${f.type} was not confirmed in effect`;
      return {
        name,
        timeMs,
        failure: {
          type: f.error === null ? "FaultNotConfirmed" : "FaultError",
          message,
          body: [
            `type: ${f.type}`,
            `selection: ${f.selection}`,
            ...f.actions.map((a) => `action: ${a}`),
            message,
          ].join("\n"),
        },
      };
    }
    return { name, timeMs, out: `${f.type} on ${f.selection}: ${f.evidence ?? "confirmed"}` };
  });
}

const STATUS_FAILURE: Readonly<Record<Exclude<DrillStatus, "completed">, string>> = {
  failed: "DrillFailed",
  aborted: "DrillAborted",
  interrupted: "DrillInterrupted",
};

function statusCase(journal: DrillJournal): TestCase {
  const name = "drill status";
  const timeMs = journal.durationMs;
  if (journal.status === "completed") return { name, timeMs, out: `completed; verdict ${journal.verdict}` };
  const abort = journal.abort;
  return {
    name,
    timeMs,
    failure: {
      type: STATUS_FAILURE[journal.status],
      message: `drill ${journal.status}: ${journal.reason}`,
      body: [
        `status: ${journal.status}`,
        `reason: ${journal.reason}`,
        ...(abort === null ? [] : [`abort condition ${abort.condition}: ${abort.detail}`]),
      ].join("\n"),
    },
  };
}

function testCase(c: TestCase, classname: string): string {
  const open = `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(c.name)}" time="${seconds(c.timeMs)}"`;
  const children = [
    c.failure === undefined
      ? null
      : `      <failure type="${xmlAttr(c.failure.type)}" message="${xmlAttr(c.failure.message)}">${xmlText(c.failure.body)}</failure>`,
    c.skipped === undefined ? null : `      <skipped message="${xmlAttr(c.skipped)}"/>`,
    c.out === undefined ? null : `      <system-out>${xmlText(c.out)}</system-out>`,
  ].filter((x) => x !== null);
  return children.length === 0 ? `${open}/>` : [`${open}>`, ...children, "    </testcase>"].join("\n");
}

export function renderDrillJUnit(journal: DrillJournal): string {
  const cases = [
    ...expectationCases(journal),
    ...steadyStateCases(journal),
    ...faultCases(journal),
    statusCase(journal),
  ];
  const tests = cases.length;
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const time = seconds(journal.durationMs);
  const name = journal.drill.name;
  const counts = `tests="${String(tests)}" failures="${String(failures)}" errors="0" skipped="${String(skipped)}" time="${time}"`;
  const properties = Object.entries({
    verdict: journal.verdict,
    status: journal.status,
    t0: journal.t0 ?? "",
    reason: journal.reason,
    backend: journal.drill.backend,
    "run-id": journal.runId,
    "tool-version": `livekit-swarm ${journal.toolVersion}`,
    "signal-paths": journal.aggregates.signalPaths ?? "unknown",
    ...Object.fromEntries(journal.rooms.map((r) => [`media-back.${r.room}`, mediaBack(r)])),
  }).map(([key, value]) => `      <property name="${xmlAttr(key)}" value="${xmlAttr(value)}"/>`);
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlAttr(`chaos: ${name}`)}" ${counts}>`,
    `  <testsuite name="${xmlAttr(`chaos: ${name}`)}" ${counts} timestamp="${xmlAttr(journal.start)}" hostname="${xmlAttr(journal.host)}">`,
    "    <properties>",
    ...properties,
    "    </properties>",
    ...cases.map((c) => testCase(c, `chaos.${name}`)),
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
