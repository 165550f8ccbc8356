import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { PageAssets } from "./page.js";

let cached: PageAssets | undefined;

/** uPlot's minified script and stylesheet from its npm package, inlined into every report page. */
export function uplotAssets(): PageAssets {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const dist = (file: string): string => readFileSync(require.resolve(`uplot/dist/${file}`), "utf8");
  cached = { js: dist("uPlot.iife.min.js"), css: dist("uPlot.min.css") };
  return cached;
}
