import { builtinModules } from "node:module";

const BUILTINS = new Set(builtinModules);

/**
 * The npm package an import names: "@scope/name/sub" is "@scope/name", "name/sub" is "name"; a Node
 * built-in ("node:fs", "fs", "fs/promises") is none.
 */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
  if (BUILTINS.has(name) || BUILTINS.has(specifier)) return undefined;
  return name;
}

/**
 * What differs between the published package's `dependencies` and the exact versions the bundle
 * was built and tested with, one line each; empty when they agree. A range would let a user's
 * install pick a version nobody tested, so only exact versions pass.
 */
export function pinProblems(
  declared: Readonly<Record<string, string>>,
  tested: Readonly<Record<string, string>>,
): string[] {
  const problems: string[] = [];
  for (const [name, version] of Object.entries(tested)) {
    const have = declared[name];
    if (have === undefined) problems.push(`${name}: missing, the bundle imports it (tested with ${version})`);
    else if (have !== version)
      problems.push(`${name}: declared ${have}, tested with ${version} (pin it exactly)`);
  }
  for (const name of Object.keys(declared)) {
    if (!(name in tested)) problems.push(`${name}: declared, but the bundle never imports it`);
  }
  return problems.sort();
}
