import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "@livekit-swarm/schema";
import type { EngineParticipant } from "../engine/engine.js";
import type { ParticipantPlan } from "./messages.js";

/** The folder under a run's output folder that `--screenshots` fills. */
export const SCREENSHOTS_DIR = "screenshots";

/** How long one page may take to paint its PNG: a wedged page must not hold the run's end. */
const SCREENSHOT_TIMEOUT_MS = 10_000;

const UNSAFE = /[^A-Za-z0-9._-]/g;

/**
 * The PNG name of a participant's page: `<room>--<identity>.png`. Room and identity come from
 * validated prefixes, but a file name is made safe here whatever they hold: anything but letters,
 * digits, ".", "_" and "-" becomes "_", and a leading "." too (no hidden files, no "..").
 */
export function screenshotName(p: Pick<ParticipantPlan, "room" | "identity">): `${string}.png` {
  const safe = (s: string): string => s.replace(UNSAFE, "_").replace(/^\./, "_");
  return `${safe(p.room)}--${safe(p.identity)}.png`;
}

/** Whether a file in the screenshots folder is one `screenshotName` makes (what the reports list). */
export function isScreenshotName(name: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9._-]*--[A-Za-z0-9_-][A-Za-z0-9._-]*\.png$/.test(name);
}

/**
 * Each participant with a page saves it into `dir`, one at a time (a screenshot repaints the page:
 * several at once on a small machine starve each other), each bounded. A failure is logged to
 * workers.log and skipped: the reports list what is on disk, not what was asked.
 */
export async function saveScreenshots(
  participants: readonly EngineParticipant[],
  dir: string,
): Promise<void> {
  const withPage = participants.filter((p) => p.screenshot !== undefined);
  if (withPage.length === 0) return;
  await mkdir(dir, { recursive: true });
  for (const p of withPage) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        p.screenshot?.(join(dir, screenshotName(p.plan)) as `${string}.png`),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`no screenshot within ${SCREENSHOT_TIMEOUT_MS / 1000} s`));
          }, SCREENSHOT_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      console.error(`screenshot of ${p.plan.identity} failed: ${messageOf(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The screenshots a run saved, as paths relative to its output folder, sorted; none: empty. */
export async function listScreenshots(outputDir: string): Promise<string[]> {
  const names = await readdir(join(outputDir, SCREENSHOTS_DIR)).catch(() => []);
  return names
    .filter(isScreenshotName)
    .sort()
    .map((n) => `${SCREENSHOTS_DIR}/${n}`);
}
