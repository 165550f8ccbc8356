import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GENERATED_NOTICE, renderDashboards } from "./index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

describe("committed dashboards", () => {
  for (const [path, text] of renderDashboards()) {
    it(`${path} matches renderDashboards()`, () => {
      const committed = readFileSync(resolve(root, path), "utf8");
      // a diff of 1,000-line JSON helps nobody; the message says what to do
      expect(committed === text, `${path} is stale: run npm run generate`).toBe(true);
    });
  }

  it("say they are generated", () => {
    for (const text of renderDashboards().values()) {
      expect((JSON.parse(text) as { description: string }).description).toContain(GENERATED_NOTICE);
    }
  });
});
