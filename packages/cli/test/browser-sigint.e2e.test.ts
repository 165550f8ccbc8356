/**
 * Ctrl-C on `swarm --engine browser`: the CLI as a user runs it, against its own embedded LiveKit,
 * with browser participants in a Chromium each, and four sharing one Chromium (two pages of two:
 * `--participants-per-page 2 --pages-per-browser 2`). SIGINT mid-run must end the run the documented
 * way (exit 130, README "Exit codes"), leave the partial report, and leave no Chromium and no
 * livekit-server behind: every process the CLI started, found by its process tree while it ran,
 * must be gone, and nothing may still name the run's temporary directory (Chromium profiles).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isOurProcess, processesMentioning, runDirFor } from "@livekit-swarm/testbed";
import {
  alive,
  chromiumBrowsers,
  descendants,
  leftovers,
  startSwarm,
  waitFor,
} from "@livekit-swarm/test-kit";

const LAYOUTS = [
  { layout: "a browser each", subscribers: 1, flags: [], browsers: 2 },
  {
    layout: "four in one browser, two pages of two",
    subscribers: 3,
    flags: ["--participants-per-page", "2", "--pages-per-browser", "2"],
    browsers: 1,
  },
];

describe("swarm --engine browser: Ctrl-C", () => {
  it.each(LAYOUTS)(
    "$layout: exits 130 with the partial report, no Chromium and no livekit-server left",
    async ({ subscribers, flags, browsers: expectedBrowsers }) => {
      const participants = 1 + subscribers;
      const out = mkdtempSync(join(tmpdir(), "swarm-browser-sigint-"));
      // the CLI's temporary directory: each Chromium's profile is made in it, so a browser process
      // left anywhere on the machine still names it
      const tmp = mkdtempSync(join(tmpdir(), "swarm-browser-sigint-tmp-"));
      const run = startSwarm(
        [
          "--engine",
          "browser",
          "--rooms",
          "1",
          "--audio-publishers",
          "1",
          "--video-publishers",
          "0",
          "--subscribers",
          String(subscribers),
          ...flags,
          "--duration",
          "300s",
          "-o",
          out,
        ],
        // no --url (an empty LIVEKIT_URL is unset): the run starts, and must stop, its own testbed
        { LIVEKIT_URL: "", TMPDIR: tmp },
      );
      const { child, exited } = run;
      const pid = child.pid ?? 0;
      // two Chromiums launched and joined on a loaded 2-core machine: 11-16 s measured at load 20,
      // the progress line every 5 s; 150 s leaves room for a busier machine
      await waitFor(() => new RegExp(`${participants}/${participants} joined`).test(run.stderr), {
        timeoutMs: 150_000,
        debugName: () => `both browser participants joined:\n${run.stderr}`,
        intervalMs: 200,
        exited,
      });
      const started = descendants(pid);
      const browsers = chromiumBrowsers(started);
      const servers = started.filter((p) => /livekit-server/.test(p.cmdline));
      const tree = started.map((p) => `${String(p.pid)} ${p.cmdline.slice(0, 120)}`).join("\n");
      // one browser process per participant, or one for the four sharing (its renderers and helpers
      // are --type= children)
      expect(browsers.length, tree).toBe(expectedBrowsers);
      expect(servers.length, tree).toBe(1);
      expect(readdirSync(tmp).filter((f) => f.startsWith("lkswarm-chromium-")).length, tree).toBe(
        expectedBrowsers,
      );

      child.kill("SIGINT");
      expect(await exited, run.stderr).toBe(130);

      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8")) as {
        run: { endReason: string; engine: string; workerPids: number[] };
        participants: { joined: number };
      };
      expect(summary.run.endReason).toBe("interrupted");
      expect(summary.run.engine).toBe("browser");
      expect(summary.participants.joined).toBe(participants);
      expect(existsSync(join(out, "report.html"))).toBe(true);
      expect(summary.run.workerPids.filter(alive), "workers still alive").toEqual([]);
      const left = started.filter((p) => isOurProcess(p.pid, p.startTime));
      expect(
        left.map((p) => `${String(p.pid)} ${p.cmdline.slice(0, 120)}`),
        `of the ${String(started.length)} processes the CLI started`,
      ).toEqual([]);
      expect(processesMentioning(tmp), "processes naming the CLI's temp dir").toEqual([]);
      expect(
        readdirSync(tmp).filter((f) => f.startsWith("lkswarm-chromium-")),
        "Chromium profiles left",
      ).toEqual([]);
      // the embedded testbed's run root follows TMPDIR too
      const runDir = runDirFor(`swarm-${String(pid)}`, join(tmp, "livekit-swarm", "testbeds"));
      expect(leftovers(runDir), "embedded testbed leftovers").toEqual([]);
    },
    240_000,
  );
});
