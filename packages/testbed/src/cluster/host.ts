/**
 * The host commands and kernel settings the cluster testbed's start and down share: argv runs,
 * containerd's pod network namespaces, and sysctls read and put back.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";

export function run(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, {
    encoding: "utf8",
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
}

export function tryRun(command: string, args: readonly string[]): boolean {
  try {
    run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** containerd's pod network namespaces on this host (`/run/netns/cni-*`), ours or not. */
export function podNamespaces(): string[] {
  try {
    return readdirSync("/run/netns").filter((f) => f.startsWith("cni-"));
  } catch {
    return [];
  }
}

export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(name: string, value: string): void {
  try {
    writeFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, value);
  } catch {
    // a read-only one here was never changed either
  }
}
