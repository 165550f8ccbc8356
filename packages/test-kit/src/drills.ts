import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The chaos end-to-end drills' workload, as the shipped drills': 4 rooms x (1 audio publisher + 2
 * subscribers), 6 joins a second, a 6 s baseline and after window. `extra` goes inside `workload:`
 * (e.g. `"  rejoin: true\n"`); `target`, when given, is the drill's `target:` line before it; `rooms`
 * fewer for engines that cost more (a browser participant is a Chromium).
 */
export function drillWorkload(extra = "", target?: string, rooms = 4): string {
  return `${target === undefined ? "" : `target: ${target}\n`}workload:
  rooms: ${String(rooms)}
  audio-publishers: 1
  video-publishers: 0
  subscribers: 2
  num-per-second: 6
  duration: 5m
${extra}baseline: 6s
after: 6s
`;
}

/** Writes drill `name` into `dir` (its `name:` line, then `body`) and returns the file. */
export function writeDrill(dir: string, name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${body}`);
  return file;
}
