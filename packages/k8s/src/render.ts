import { stringify } from "yaml";
import type { Manifest } from "./types.js";

/**
 * The manifests as one multi-document YAML stream. YAML 1.1 output, because kubectl reads YAML
 * 1.1 (sigs.k8s.io/yaml): a string such as `y`, `on` or `no` is quoted, not read back as a boolean.
 */
export function renderYaml(manifests: readonly Manifest[]): string {
  return manifests
    .map((m) => stringify(m, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false }))
    .join("---\n");
}
