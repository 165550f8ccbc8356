import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { README, normalized, optionsReference, withReference } from "./reference.js";

describe("the options reference in packages/cli/README.md", () => {
  it("is what the commands' definitions say (regenerate: node packages/cli/dist/reference.js)", () => {
    const readme = readFileSync(README, "utf8");
    expect(normalized(withReference(readme, optionsReference()))).toBe(normalized(readme));
  });

  it("names every command and their range-checked flags", () => {
    const text = optionsReference();
    for (const name of ["run", "canary", "gate", "testbed", "chaos"])
      expect(text).toContain(`### \`swarm ${name}\``);
    expect(text).toContain("| `--rooms <n>` | Rooms to create, 1 to 10000 (default 1) |");
  });
});
