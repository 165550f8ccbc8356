import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { program } from "./program.js";

const BEGIN =
  "<!-- options reference: generated from the commands' definitions by `node packages/cli/dist/reference.js`; do not edit -->";
const END = "<!-- end of options reference -->";
export const README = fileURLToPath(new URL("../README.md", import.meta.url));

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, " ");
}

/** Markdown as prettier may lay it out: table padding and rule lengths do not count. */
export function normalized(markdown: string): string {
  return markdown.replace(/ +/g, " ").replace(/-{3,}/g, "---");
}

function commandReference(command: CommandUnknownOpts): string[] {
  // a hidden option is one kept only to refuse it with a message (k8s --storage-class)
  const rows = command.options
    .filter((o) => !o.hidden)
    .map((o) => {
      const fallback =
        o.defaultValue !== undefined && typeof o.defaultValue !== "boolean"
          ? ` (default ${o.defaultValueDescription ?? String(o.defaultValue)})`
          : "";
      return `| \`${o.flags.replace(/\|/g, "\\|")}\` | ${cell(`${o.description}${fallback}`)} |`;
    });
  const args = command.registeredArguments.map(
    (a) => `| \`[${a.name()}]\` (argument) | ${cell(a.description)} |`,
  );
  return [
    `### \`swarm ${command.name()}\``,
    "",
    command.summary(),
    "",
    "| option | what it does |",
    "| ------ | ------------ |",
    ...args,
    ...rows,
    "",
  ];
}

/** Every command's options as markdown: the block between the markers in packages/cli/README.md. */
export function optionsReference(): string {
  const root = program(() => {});
  return [BEGIN, "", ...root.commands.flatMap((c) => commandReference(c)), END].join("\n");
}

/** The README with its reference block replaced by `block`. */
export function withReference(readme: string, block: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${README} has no options reference markers`);
  return readme.slice(0, start) + block + readme.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, withReference(readFileSync(README, "utf8"), optionsReference()));
  process.stdout.write(`wrote the options reference in ${README}\n`);
}
