/**
 * Every Chromium process ends on the exit paths a run can take without a clean leave: the worker
 * that drives it killed outright (SIGKILL: none of its code runs), and a crashed tab. No LiveKit is
 * needed: the browser and its page are what must go.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processGroup as group, waitFor } from "@livekit-swarm/test-kit";
import { DEFAULT_CHROMIUM, PageLayout, PageServer, type PageEvent } from "../src/index.js";

const hasChromium = existsSync(DEFAULT_CHROMIUM);
const skipped = hasChromium ? "" : ` [SKIPPED: needs ${DEFAULT_CHROMIUM} (scripts/setup)]`;
const dir = mkdtempSync(join(tmpdir(), "lkswarm-browser-exit-"));
const wav = join(dir, "silence.wav");
// 0.1 s of silence: the fake microphone's file must exist, nothing here opens it
writeFileSync(wav, Buffer.concat([Buffer.from("RIFF\x00\x00\x00\x00WAVE", "latin1"), Buffer.alloc(9600)]));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("Chromium ends with what drives it", () => {
  it.skipIf(!hasChromium)(`a worker killed with SIGKILL takes its browser with it${skipped}`, async () => {
    const script = join(dir, "worker.mjs");
    const browserIndex = new URL("../dist/index.js", import.meta.url).href;
    writeFileSync(
      script,
      `import { PageLayout, PageServer } from ${JSON.stringify(browserIndex)};
const server = await PageServer.start();
const page = await new PageLayout(server).place({ audioFile: ${JSON.stringify(wav)}, serverUrl: "ws://127.0.0.1:7880", onEvent() {} });
console.log(String(page.pid));
setInterval(() => {}, 1000);
`,
    );
    const worker = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "inherit"] });
    let pid: number | undefined;
    let out = "";
    worker.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    try {
      // a Chromium start takes 1-3 s here; 30 s on a machine shared with other test runs
      await waitFor(() => /^\d+\n/.test(out), {
        timeoutMs: 30_000,
        debugName: () => `browser pid printed: ${out}`,
      });
      pid = Number(out.trim());
      const pgid = pid;
      expect(group(pgid).length, `Chromium's group ${pgid} runs`).toBeGreaterThan(1);
      worker.kill("SIGKILL");
      // the pipe closes with the worker; Chromium quits and its children follow within a second or
      // two, 15 s on a loaded machine
      await waitFor(() => group(pgid).length === 0, {
        timeoutMs: 15_000,
        debugName: () => `Chromium processes left in group ${pgid}: ${group(pgid).join(" ")}`,
      });
    } finally {
      worker.kill("SIGKILL");
      // a failed check must not leave the browser running: end its group (ours, started above)
      if (pid !== undefined && group(pid).length > 0) process.kill(-pid, "SIGKILL");
    }
  });

  it.skipIf(!hasChromium)(
    `a crashed tab is a disconnect (page_crashed) and its browser is ended${skipped}`,
    async () => {
      const server = await PageServer.start();
      const events: PageEvent[] = [];
      const page = await new PageLayout(server).place({
        audioFile: wav,
        serverUrl: "ws://127.0.0.1:7880",
        onEvent: (e) => events.push(e),
      });
      const pid = page.pid ?? -1;
      try {
        expect(group(pid).length).toBeGreaterThan(1);
        // chrome://crash kills the renderer, as an out-of-memory or a renderer bug would
        await page.page.goto("chrome://crash").catch(() => undefined);
        // the crash is reported at once; the browser's close is bounded at 5 s, then SIGKILL
        await waitFor(() => events.some((e) => e.type === "disconnected"), {
          timeoutMs: 15_000,
          debugName: () => `events: ${JSON.stringify(events)}`,
        });
        expect(events).toEqual([{ type: "disconnected", reason: "page_crashed" }]);
        await waitFor(() => group(pid).length === 0, {
          timeoutMs: 15_000,
          debugName: () => `Chromium processes left in group ${pid}: ${group(pid).join(" ")}`,
        });
      } finally {
        await page.leave();
        await server.close();
      }
    },
  );
});
