import { describe, expect, it } from "vitest";
import { TOOL } from "@livekit-swarm/schema";
import { sampleJournal } from "../test/journal-fixture.js";
import { renderDrillJUnit } from "./junit.js";

interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Resolves entity references; throws on a bare `&`, which would make the document ill-formed. */
function unescape(raw: string): string {
  return raw.replace(/&([^;]*);?/g, (ref: string, name: string) => {
    if (!ref.endsWith(";")) throw new Error(`bare & in ${JSON.stringify(raw)}`);
    const code = /^#(x[0-9a-f]+|\d+)$/i.exec(name)?.[1];
    if (code !== undefined) return String.fromCodePoint(Number(code.startsWith("x") ? `0${code}` : code));
    const char = ENTITIES[name];
    if (char === undefined) throw new Error(`unknown entity &${name}; in ${JSON.stringify(raw)}`);
    return char;
  });
}

/**
 * Just enough of an XML parser for JUnit output: elements, double-quoted attributes, text and entity
 * references. Throws on anything ill-formed (unbalanced tags, a raw `<` or `&`, trailing content).
 */
function parseXml(xml: string): XmlElement {
  const body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, "");
  const token = /<(\/?)([A-Za-z][\w.:-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const document: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [document];
  while (token.lastIndex < body.length) {
    const at = token.lastIndex;
    const m = token.exec(body);
    if (m === null) throw new Error(`ill-formed at ${String(at)}: ${body.slice(at, at + 40)}`);
    const [, close, name = "", rawAttrs = "", selfClose, text] = m;
    const parent = stack.at(-1) ?? document;
    if (text !== undefined) {
      if (parent === document && text.trim() !== "") throw new Error("text outside the root element");
      parent.text += unescape(text);
    } else if (close === "/") {
      if (parent.name !== name) throw new Error(`</${name}> closes <${parent.name}> at ${String(at)}`);
      stack.pop();
    } else {
      const attrs: Record<string, string> = {};
      for (const [, key = "", value = ""] of rawAttrs.matchAll(/([\w.:-]+)="([^"]*)"/g)) {
        if (key in attrs) throw new Error(`duplicate attribute ${key} on <${name}>`);
        attrs[key] = unescape(value);
      }
      const element: XmlElement = { name, attrs, children: [], text: "" };
      parent.children.push(element);
      if (selfClose !== "/") stack.push(element);
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)?.name ?? "?"}>`);
  const [root, ...rest] = document.children;
  if (root === undefined || rest.length > 0) throw new Error("a document has exactly one root element");
  return root;
}

function children(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

function only(element: XmlElement, name: string): XmlElement {
  const found = children(element, name);
  if (found.length !== 1)
    throw new Error(`expected one <${name}> in <${element.name}>, got ${String(found.length)}`);
  const [first] = found;
  if (first === undefined) throw new Error("unreachable");
  return first;
}

function suiteOf(xml: string): { root: XmlElement; suite: XmlElement; cases: XmlElement[] } {
  const root = parseXml(xml);
  expect(root.name).toBe("testsuites");
  const suite = only(root, "testsuite");
  return { root, suite, cases: children(suite, "testcase") };
}

function testCase(cases: readonly XmlElement[], name: string): XmlElement {
  const found = cases.find((c) => c.attrs.name === name);
  if (found === undefined)
    throw new Error(`no testcase ${name} among ${cases.map((c) => c.attrs.name).join(", ")}`);
  return found;
}

describe("parseXml (the test's own well-formedness check)", () => {
  it("rejects what a JUnit consumer would reject", () => {
    expect(() => parseXml('<a x="<"/>')).toThrow();
    expect(() => parseXml("<a>&</a>")).toThrow();
    expect(() => parseXml("<a>1 < 2</a>")).toThrow();
    expect(() => parseXml("<a><b></a></b>")).toThrow();
    expect(() => parseXml("<a></a><b/>")).toThrow();
    expect(parseXml('<a x="&lt;&amp;&quot;">&gt;&#10;</a>')).toMatchObject({
      attrs: { x: '<&"' },
      text: ">\n",
    });
  });
});

describe("renderDrillJUnit", () => {
  const xml = renderDrillJUnit(sampleJournal());

  it("is well-formed, with one suite named after the drill", () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    const { root, suite } = suiteOf(xml);
    expect(suite.attrs.name).toBe("chaos: kill-busiest-node");
    expect(suite.attrs.timestamp).toBe("2026-11-22T10:00:00.000Z");
    expect(suite.attrs.hostname).toBe("ci-runner-2");
    expect(root.attrs.tests).toBe(suite.attrs.tests);
  });

  it("counts tests, failures and skipped as the test cases say", () => {
    const { root, suite, cases } = suiteOf(xml);
    // 5 expectations + 2 probes before + 2 after + 1 fault + drill status.
    expect(cases).toHaveLength(11);
    const failed = cases.filter((c) => children(c, "failure").length > 0);
    const skipped = cases.filter((c) => children(c, "skipped").length > 0);
    for (const counts of [root.attrs, suite.attrs]) {
      expect(counts).toMatchObject({
        tests: String(cases.length),
        failures: String(failed.length),
        skipped: String(skipped.length),
        errors: "0",
        time: "100.000",
      });
    }
    expect(failed.map((c) => c.attrs.name)).toEqual(["participants lost"]);
    expect(skipped.map((c) => c.attrs.name)).toEqual(["quality after"]);
  });

  it("carries the verdict, status, T0 and the tool's version as properties", () => {
    const { suite } = suiteOf(xml);
    const properties = Object.fromEntries(
      children(only(suite, "properties"), "property").map((p): [string, string] => [
        p.attrs.name ?? "",
        p.attrs.value ?? "",
      ]),
    );
    expect(properties).toMatchObject({
      verdict: "fail",
      status: "completed",
      t0: "2026-11-22T10:00:40.000Z",
      backend: "local",
      "tool-version": `livekit-swarm ${TOOL.version}`,
      "signal-paths": "the testbed's balancer log (HAProxy)",
      // room-0's second subscriber never had media again; room-1 was not hit
      "media-back.room-0": "kill-busiest: never",
      "media-back.room-1": "never stalled",
    });
  });

  it("has one test case per expectation, failing with observed vs expected or skipped without data", () => {
    const { cases } = suiteOf(xml);
    expect(cases.slice(0, 5).map((c) => c.attrs.name)).toEqual([
      "detect",
      "reconnect",
      "participants lost",
      "media resume",
      "quality after",
    ]);
    for (const c of cases) expect(c.attrs.classname).toBe("chaos.kill-busiest-node");
    const failure = only(testCase(cases, "participants lost"), "failure");
    expect(failure.attrs.message).toBe("observed 1 (stuck_reconnecting), expected max 0");
    expect(failure.text).toBe("expected: max 0\nobserved: 1 (stuck_reconnecting)");
    expect(only(testCase(cases, "quality after"), "skipped").attrs.message).toBe("not enough data");
    expect(children(testCase(cases, "reconnect"), "failure")).toHaveLength(0);
  });

  it("has one test case per steady-state probe, failing when its tolerance is not met", () => {
    const base = sampleJournal();
    const deviated = renderDrillJUnit(
      sampleJournal({
        steadyState: {
          before: base.steadyState.before,
          after: [{ name: "connected share", observed: 0.5, tolerance: ">= 0.9", met: false, detail: null }],
        },
      }),
    );
    const { cases } = suiteOf(deviated);
    expect(cases.map((c) => c.attrs.name).filter((n) => n?.startsWith("steady-state"))).toEqual([
      "steady-state before: connected share",
      "steady-state before: loss ratio",
      "steady-state after: connected share",
    ]);
    expect(children(testCase(cases, "steady-state before: loss ratio"), "failure")).toHaveLength(0);
    expect(only(testCase(cases, "steady-state after: connected share"), "failure").attrs.message).toBe(
      "observed 0.5, tolerance >= 0.9",
    );
  });

  it("fails a fault that was not confirmed or that errored", () => {
    const [fault] = sampleJournal().faults;
    if (fault === undefined) throw new Error("fixture has a fault");
    const out = renderDrillJUnit(
      sampleJournal({
        faults: [
          fault,
          { ...fault, id: "freeze", type: "node.freeze", confirmedAt: null, confirmedMs: null },
          { ...fault, id: "loss", type: "net.loss", error: "tc: operation not permitted - run as root" },
        ],
      }),
    );
    const { suite, cases } = suiteOf(out);
    const confirmed = testCase(cases, "fault kill-busiest confirmed");
    expect(children(confirmed, "failure")).toHaveLength(0);
    expect(confirmed.attrs.time).toBe("0.050");
    expect(only(testCase(cases, "fault freeze confirmed"), "failure").attrs).toMatchObject({
      type: "FaultNotConfirmed",
      message: "node.freeze was not confirmed in effect",
    });
    expect(only(testCase(cases, "fault loss confirmed"), "failure").attrs.message).toBe(
      "tc: operation not permitted - run as root",
    );
    expect(suite.attrs.failures).toBe("3");
  });

  it("fails the drill status test case when the drill did not complete", () => {
    const { cases } = suiteOf(xml);
    const status = testCase(cases, "drill status");
    expect(children(status, "failure")).toHaveLength(0);
    expect(status.attrs.time).toBe("100.000");

    const aborted = suiteOf(
      renderDrillJUnit(
        sampleJournal({
          status: "aborted",
          verdict: "inconclusive",
          reason: "abort condition other-rooms-healthy fired",
          abort: { condition: "other-rooms-healthy", atMs: 4200, detail: "participants 7 < 9" },
        }),
      ),
    );
    const failure = only(testCase(aborted.cases, "drill status"), "failure");
    expect(failure.attrs).toMatchObject({
      type: "DrillAborted",
      message: "drill aborted: abort condition other-rooms-healthy fired",
    });
    expect(failure.text).toContain("abort condition other-rooms-healthy: participants 7 < 9");
  });

  it("escapes <, &, \" and ' in names, attributes and text", () => {
    const nasty = `a<b & "c" 'd'>`;
    const out = renderDrillJUnit(
      sampleJournal({
        drill: { ...sampleJournal().drill, name: nasty },
        expectations: [
          { name: `<&">`, expected: "p95 <= 20s & max < 30s", observed: "</failure>", met: false },
        ],
      }),
    );
    expect(out).toContain('classname="chaos.a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"');
    expect(out).not.toContain(nasty);
    const { suite, cases } = suiteOf(out);
    expect(suite.attrs.name).toBe(`chaos: ${nasty}`);
    const c = testCase(cases, `<&">`);
    expect(c.attrs.classname).toBe(`chaos.${nasty}`);
    expect(only(c, "failure").text).toBe("expected: p95 <= 20s & max < 30s\nobserved: </failure>");
  });

  it("keeps newlines in attributes and drops characters XML cannot carry", () => {
    const out = renderDrillJUnit(
      sampleJournal({
        expectations: [{ name: "bell\u0007", expected: "x", observed: "line 1\nline 2", met: false }],
      }),
    );
    const { cases } = suiteOf(out);
    expect(out).not.toContain("\u0007");
    const failure = only(testCase(cases, "bell\uFFFD"), "failure");
    expect(failure.attrs.message).toBe("observed line 1\nline 2, expected x");
  });
});
