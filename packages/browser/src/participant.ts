import type { Page } from "puppeteer-core";
import { launchChromium, type Chromium } from "./chromium.js";
import {
  EVENT_BINDING,
  type PageApi,
  type PageEvent,
  type PageJoin,
  type PageLook,
  type PageSample,
} from "./protocol.js";
import type { PageServer } from "./server.js";

export interface ParticipantPageOptions {
  readonly server: PageServer;
  /** The WAV the fake microphone plays (one tone per publisher). */
  readonly audioFile: string;
  /** The LiveKit URL: its host is the only name the browser resolves. */
  readonly serverUrl: string;
  readonly onEvent: (event: PageEvent) => void;
}

type Lkswarm = { lkswarm: PageApi };

/**
 * One participant in its own headless Chromium: one browser per participant, so that each
 * publisher's fake microphone plays its own tone (the flag is per browser) and a crash takes one
 * participant down. Every call into the page goes through `window.lkswarm` (protocol.ts).
 */
export class ParticipantPage {
  private closed = false;

  private constructor(
    private readonly chromium: Chromium,
    readonly page: Page,
  ) {}

  static async open(options: ParticipantPageOptions): Promise<ParticipantPage> {
    const serverHost = new URL(options.serverUrl).hostname.replace(/^\[(.*)\]$/, "$1");
    const chromium = await launchChromium({
      audioFile: options.audioFile,
      serverHost,
      root: process.getuid?.() === 0,
    });
    let participant: ParticipantPage | undefined;
    try {
      const page = await chromium.browser.newPage();
      participant = new ParticipantPage(chromium, page);
      const opened = participant;
      await page.exposeFunction(EVENT_BINDING, (event: PageEvent) => {
        if (!opened.closed) options.onEvent(event);
      });
      // a crashed renderer or a browser gone under us is a disconnect the run must count
      page.on("error", () => {
        opened.gone(options.onEvent, "page_crashed");
      });
      chromium.browser.on("disconnected", () => {
        opened.gone(options.onEvent, "browser_exited");
      });
      await page.goto(options.server.url, { waitUntil: "load" });
      return participant;
    } catch (err) {
      // not joined: the failure is the caller's join-failed, not a disconnect
      if (participant !== undefined) participant.closed = true;
      await chromium.close();
      throw err;
    }
  }

  private gone(onEvent: (event: PageEvent) => void, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    onEvent({ type: "disconnected", reason });
    void this.chromium.close();
  }

  get connected(): boolean {
    return !this.closed;
  }

  join(options: PageJoin): Promise<boolean> {
    return this.page.evaluate((o) => (window as unknown as Lkswarm).lkswarm.join(o), options);
  }

  sample(): Promise<PageSample> {
    return this.page.evaluate(() => (window as unknown as Lkswarm).lkswarm.sample());
  }

  look(): Promise<PageLook> {
    return this.page.evaluate(() => (window as unknown as Lkswarm).lkswarm.look());
  }

  /** The page as a viewer would see it: the published pattern and every received video. */
  async screenshot(path: `${string}.png`): Promise<void> {
    await this.page.screenshot({ path, fullPage: true });
  }

  /** Leaves the room (bounded: a wedged page must not hold the exit), then ends the browser. */
  async leave(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await Promise.race([
        this.page.evaluate(() => (window as unknown as Lkswarm).lkswarm.leave()).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 5000)),
      ]);
    }
    await this.chromium.close();
  }

  /** The browser's process id (tests check nothing of it is left). */
  get pid(): number | undefined {
    return this.chromium.browser.process()?.pid;
  }
}
