import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderDashboards } from "./index.js";

/** dist/generate.js sits at packages/dashboards/dist: the repo root is three levels up. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

for (const [path, text] of renderDashboards()) {
  const target = resolve(root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`wrote ${path}`);
}
