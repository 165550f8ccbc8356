import { describe, expect, it } from "vitest";
import { requireDnsLabel, requireDnsSubdomain, requireLabelValue } from "./names.js";

describe("Kubernetes names", () => {
  it("accepts RFC 1123 labels and refuses the rest, naming the flag", () => {
    expect(requireDnsLabel("--namespace", "load-test-1")).toBe("load-test-1");
    for (const bad of ["Load", "-a", "a-", "a_b", "a.b", "", "a".repeat(64), "a\nb", "ns: x"])
      expect(() => requireDnsLabel("--namespace", bad), bad).toThrow(
        /--namespace .* is not a Kubernetes name/,
      );
    expect(() => requireDnsLabel("name", "a".repeat(55), 54)).toThrow(/at most 54/);
  });

  it("accepts subdomains with dots up to 253 characters", () => {
    expect(requireDnsSubdomain("--secret", "livekit.api-keys")).toBe("livekit.api-keys");
    for (const bad of ["LiveKit", "a..b", ".a", "a".repeat(254), "x y"])
      expect(() => requireDnsSubdomain("--secret", bad), bad).toThrow(/--secret/);
  });

  it("accepts label values with '_' and '.', at most 63", () => {
    expect(requireLabelValue("--run-id", "20261123-0640_a.b")).toBe("20261123-0640_a.b");
    for (const bad of ["-x", "x-", "a b", "a/b", "a".repeat(64)])
      expect(() => requireLabelValue("--run-id", bad), bad).toThrow(/--run-id/);
  });
});
