#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderRules } from "./render.js";
import { withAlertsTable } from "./table.js";

/** dist/generate.js sits two levels under packages/alerts, so the repo root is three up from dist. */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

// where ops host the runbooks (docs/runbooks/): the rules' runbook_url; the committed files keep the default
const runbookBaseUrl = process.env.LKSWARM_RUNBOOK_BASE_URL;
for (const [path, content] of renderRules(
  runbookBaseUrl !== undefined && runbookBaseUrl !== "" ? { runbookBaseUrl } : {},
)) {
  const target = join(repoRoot, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  process.stdout.write(`wrote ${path}\n`);
}

const readme = join(repoRoot, "packages/alerts/README.md");
writeFileSync(readme, withAlertsTable(readFileSync(readme, "utf8")));
process.stdout.write("updated the alert table in packages/alerts/README.md\n");
