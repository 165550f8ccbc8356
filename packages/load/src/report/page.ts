/**
 * The shell every HTML report shares: uPlot and its CSS inlined (the page opens offline), the data
 * as JSON in a script tag, the charts drawn from that data in the browser, tables sortable by
 * clicking a header. Pure: parts in, one HTML string out.
 */
import { REPORT_CLIENT_JS } from "./client.js";

/** uPlot's script and stylesheet, read once by the caller (`uplotAssets`). */
export interface PageAssets {
  readonly js: string;
  readonly css: string;
}

/** `time`: seconds since the run began; `t0`: seconds from a drill's first fault, signed. */
export type ValueUnit = "s" | "ratio" | "bps" | "count" | "time" | "t0";

/** A chart the page draws: lines over run time, or a histogram's bars. Values null are gaps. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly kind: "lines" | "bars";
  readonly xUnit: ValueUnit;
  readonly yUnit: ValueUnit;
  readonly x: readonly number[];
  /** The x axis' extent when it is not the data's (a histogram spans its edges, not its centres). */
  readonly xRange?: readonly [number, number];
  readonly series: readonly {
    readonly label: string;
    readonly color: string;
    readonly values: readonly (number | null)[];
  }[];
  /** Horizontal lines: thresholds. */
  readonly lines: readonly { readonly label: string; readonly value: number; readonly color: string }[];
  /** Vertical lines: events on the time axis, percentiles on a histogram's. */
  readonly markers: readonly { readonly x: number; readonly label: string; readonly color: string }[];
}

export interface Page {
  readonly title: string;
  /** Trusted HTML, every run string in it already escaped. */
  readonly body: string;
  readonly charts: readonly ChartSpec[];
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text from a run (room names, identities, run ids) made inert in HTML text and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * JSON safe inside `<script type="application/json">`: no `<` survives, so neither `</script>` nor
 * `<!--` can end or change the element; U+2028/2029 are escaped for older parsers.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A chart's place in the page; the client script draws into it. Without values it says so. */
export function chartSlot(spec: ChartSpec): string {
  const empty = spec.series.every((s) => s.values.every((v) => v === null));
  const inner = empty ? `<p class="empty">no data</p>` : `<div data-chart="${escapeHtml(spec.id)}"></div>`;
  return `<figure class="chart"><figcaption>${escapeHtml(spec.title)}</figcaption>${inner}</figure>`;
}

export interface Column<Row> {
  readonly header: string;
  /** Shown, escaped here. */
  readonly text: (row: Row) => string;
  /** What a click on the header sorts by; absent: not sortable. Undefined values sort last. */
  readonly sort?: (row: Row) => number | string | undefined;
  /** Sorting this column puts the largest first (loss, jitter: the worst rooms). */
  readonly descending?: boolean;
  readonly className?: (row: Row) => string | undefined;
}

/** A table; with sortable columns, clicking a header sorts its rows (the client script). */
export function htmlTable<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  options: { readonly empty: string; readonly id?: string },
): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(options.empty)}</p>`;
  const sortable = columns.some((c) => c.sort !== undefined);
  const head = columns
    .map((c) =>
      c.sort === undefined
        ? `<th>${escapeHtml(c.header)}</th>`
        : `<th data-sort="${c.descending === true ? "desc" : "asc"}" title="sort">${escapeHtml(c.header)}</th>`,
    )
    .join("");
  const body = rows
    .map((row) => {
      const cells = columns.map((c) => {
        const key = c.sort?.(row);
        const attr =
          key === undefined
            ? c.sort === undefined
              ? ""
              : ' data-v=""'
            : ` data-v="${escapeHtml(String(key))}"`;
        const cls = c.className?.(row);
        return `<td${attr}${cls === undefined ? "" : ` class="${cls}"`}>${escapeHtml(c.text(row))}</td>`;
      });
      return `<tr>${cells.join("")}</tr>`;
    })
    .join("\n");
  const id = options.id === undefined ? "" : ` id="${escapeHtml(options.id)}"`;
  return `<table${id}${sortable ? ' class="sortable"' : ""}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A coloured block at the top: the verdict first, then its lines. */
export function banner(
  status: "pass" | "fail" | "warn" | "none",
  headline: string,
  detail: string,
  id = "verdict",
): string {
  return `<section class="banner ${status}" id="${id}"><h2>${escapeHtml(headline)}</h2>${detail}</section>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330; background: #f4f6fa; }
main { max-width: 1240px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; } h3 { font-size: 15px; margin: 18px 0 8px; }
.meta { color: #5a6475; margin: 0 0 16px; }
.banner { border-radius: 8px; padding: 12px 16px; margin: 12px 0 20px; border: 1px solid; }
.banner h2 { margin: 0 0 6px; font-size: 19px; }
.banner.pass { background: #e7f6ec; border-color: #5cb87a; } .banner.pass h2 { color: #1e7a3c; }
.banner.fail { background: #fdecec; border-color: #d9534f; } .banner.fail h2 { color: #b02a25; }
.banner.warn { background: #fff6e0; border-color: #e0a800; } .banner.warn h2 { color: #8a6500; }
.banner.none { background: #eef1f6; border-color: #aab3c2; }
.banner table { background: transparent; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 16px; }
figure.chart { margin: 0; background: #fff; border: 1px solid #dde2ea; border-radius: 8px; padding: 10px 12px; min-width: 0; }
figcaption { font-weight: 600; margin-bottom: 6px; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; margin: 4px 0 8px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7ee; text-align: left; white-space: nowrap; }
td:last-child { white-space: normal; }
th { background: #eef1f6; font-weight: 600; }
th[data-sort] { cursor: pointer; user-select: none; } th[data-sort]::after { content: " \\2195"; color: #98a1b0; }
th.sorted-desc::after { content: " \\2193"; color: #1d2330; } th.sorted-asc::after { content: " \\2191"; color: #1d2330; }
td.pass { color: #1e7a3c; font-weight: 600; } td.fail { color: #b02a25; font-weight: 600; }
td.warn { color: #8a6500; font-weight: 600; } td.no-data { color: #8a6500; }
td.better { color: #1e7a3c; } td.worse { color: #b02a25; font-weight: 600; } td.noise, td.same { color: #5a6475; }
td.missing { color: #8a6500; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid #dde2ea; border-radius: 6px; display: inline-block; max-width: 100%; }
.scroll table { margin: 0; } .scroll thead th { position: sticky; top: 0; }
.empty, .note { color: #5a6475; }
pre { background: #fff; border: 1px solid #dde2ea; padding: 10px; overflow-x: auto; }
.u-legend { font-size: 12px; text-align: left; } .u-legend .u-value { font-variant-numeric: tabular-nums; }
`;

/** The whole document. */
export function htmlPage(page: Page, assets: PageAssets): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${assets.css.replace(/<\//g, "<\\/")}</style>
<style>${STYLE}</style>
</head><body><main>
${page.body}
</main>
<script type="application/json" id="report-data">${scriptJson({ charts: page.charts })}</script>
<script>${assets.js.replace(/<\/script/gi, "<\\/script")}</script>
<script>${REPORT_CLIENT_JS}</script>
</body></html>
`;
}
