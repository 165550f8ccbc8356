import type { Page } from "puppeteer-core";
import { launchChromium, type Chromium, type ChromiumOptions } from "./chromium.js";
import { ParticipantPage, type PageHost } from "./participant.js";
import { EVENT_BINDING, type PageEvent } from "./protocol.js";
import type { PageServer } from "./server.js";

/** How participants share Chromium: Rooms per page, pages (tabs) per browser. */
export interface BrowserLayout {
  /** livekit-client Rooms in one page: they share its renderer process and main thread. */
  readonly participantsPerPage: number;
  /** Pages in one Chromium: they share its browser, GPU, network and audio processes. */
  readonly pagesPerBrowser: number;
}

/** The first layout: a browser of its own per participant (docs/browser-engine.md). */
export const BROWSER_PER_PARTICIPANT: BrowserLayout = { participantsPerPage: 1, pagesPerBrowser: 1 };

export function participantsPerBrowser(layout: BrowserLayout): number {
  return layout.participantsPerPage * layout.pagesPerBrowser;
}

export interface PlaceOptions {
  /**
   * The WAV the browser's fake microphone plays: the first participant's of a browser, which
   * launches it (a browser shared by several publishers has the page make each one's tone).
   */
  readonly audioFile: string;
  /** The LiveKit URL: its host is the only name the browser resolves. */
  readonly serverUrl: string;
  readonly onEvent: (event: PageEvent) => void;
}

/**
 * Places participants into pages and browsers as the layout says, filling each page, then each
 * browser, in the order they ask; launches a browser or opens a page when the current one is full.
 * A page closes when everyone placed in it has left (or it crashed), a browser when its every page
 * has; a crashed page is a `page_crashed` disconnect for each participant in it, an exited browser
 * `browser_exited` for each in any of its pages. `close()` ends every browser still there.
 */
export class PageLayout {
  private readonly browsers: SharedBrowser[] = [];
  /** Placement is one at a time: two joins at once must not both launch "the next" browser. */
  private placing: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly server: PageServer,
    readonly layout: BrowserLayout = BROWSER_PER_PARTICIPANT,
    /** The testbed's TURN/TLS listener its browsers trust (ChromiumOptions.turnTls). */
    private readonly turnTls?: ChromiumOptions["turnTls"],
  ) {}

  /** A participant's slot, in a page that has loaded; not joined yet. */
  place(options: PlaceOptions): Promise<ParticipantPage> {
    const placed = this.placing.then(() => this.placeNow(options));
    this.placing = placed.catch(() => undefined);
    return placed;
  }

  private async placeNow(options: PlaceOptions): Promise<ParticipantPage> {
    if (this.closed) throw new Error("the browser engine is closing: no participant is placed");
    let browser = this.browsers.at(-1);
    if (browser === undefined || !browser.open || browser.placed >= participantsPerBrowser(this.layout)) {
      const serverHost = new URL(options.serverUrl).hostname.replace(/^\[(.*)\]$/, "$1");
      const chromium = await launchChromium({
        audioFile: options.audioFile,
        serverHost,
        root: process.getuid?.() === 0,
        ...(this.turnTls !== undefined ? { turnTls: this.turnTls } : {}),
      });
      browser = new SharedBrowser(chromium, this.layout);
      this.browsers.push(browser);
    }
    return browser.place(this.server.url, options.onEvent);
  }

  /** Ends every browser still running (the engine closes after everyone left: normally none). */
  async close(): Promise<void> {
    this.closed = true;
    await this.placing;
    await Promise.all(this.browsers.map((b) => b.end()));
  }
}

class SharedBrowser {
  private readonly pages: SharedPage[] = [];
  placed = 0;
  private ending: Promise<void> | undefined;

  constructor(
    readonly chromium: Chromium,
    private readonly layout: BrowserLayout,
  ) {
    chromium.browser.on("disconnected", () => {
      if (this.ending !== undefined) return;
      for (const page of this.pages) page.lose("browser_exited");
      void this.end();
    });
  }

  get open(): boolean {
    return this.ending === undefined;
  }

  async place(url: string, onEvent: (event: PageEvent) => void): Promise<ParticipantPage> {
    this.placed++;
    let page = this.pages.at(-1);
    if (page === undefined || !page.open || page.placed >= this.layout.participantsPerPage) {
      try {
        page = await SharedPage.open(this, url, this.layout.participantsPerPage);
      } catch (err) {
        // no participant was placed: a browser with no page left is ended
        await this.pageClosed();
        throw err;
      }
      this.pages.push(page);
    }
    return page.place(onEvent);
  }

  /** A page closed: the browser ends when no page is open and nobody else will be placed. */
  pageClosed(): Promise<void> {
    const full = this.placed >= participantsPerBrowser(this.layout);
    if (this.pages.some((p) => p.open) || !full) return Promise.resolve();
    return this.end();
  }

  end(): Promise<void> {
    this.ending ??= this.chromium.close();
    return this.ending;
  }
}

class SharedPage implements PageHost {
  private readonly slots = new Map<number, ParticipantPage>();
  placed = 0;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly browser: SharedBrowser,
    readonly page: Page,
    /** Participants placed here at most. */
    private readonly capacity: number,
  ) {}

  static async open(browser: SharedBrowser, url: string, capacity: number): Promise<SharedPage> {
    // a tab: only the browser's front tab is shown, and Chromium runs no video frame callbacks in a
    // hidden one, so a latency probe in a background tab reads no stamp (docs/browser-engine.md).
    // Windows read them all, but each renders: 3 pages of 180p15 E2EE used 1.75 of 2 cores
    const page = await browser.chromium.browser.newPage();
    const host = new SharedPage(browser, page, capacity);
    try {
      await page.exposeFunction(EVENT_BINDING, (slot: number, event: PageEvent) => {
        host.slots.get(slot)?.deliver(event);
      });
      // a crashed renderer takes every Room in the page with it
      page.on("error", () => {
        host.lose("page_crashed");
      });
      await page.goto(url, { waitUntil: "load" });
    } catch (err) {
      await page.close().catch(() => undefined);
      throw err;
    }
    return host;
  }

  get chromium(): Chromium {
    return this.browser.chromium;
  }

  get open(): boolean {
    return this.closing === undefined;
  }

  get shared(): boolean {
    return this.capacity > 1;
  }

  place(onEvent: (event: PageEvent) => void): ParticipantPage {
    const participant = new ParticipantPage(this, this.placed++, onEvent);
    this.slots.set(participant.slot, participant);
    return participant;
  }

  /** Every participant still in the page is gone with `reason`; the page takes no one else. */
  lose(reason: "page_crashed" | "browser_exited"): void {
    this.placed = Number.POSITIVE_INFINITY;
    for (const participant of [...this.slots.values()]) participant.gone(reason);
  }

  release(participant: ParticipantPage): Promise<void> {
    this.slots.delete(participant.slot);
    if (this.closing !== undefined) return this.closing;
    if (this.slots.size > 0 || this.placed < this.capacity) return Promise.resolve();
    this.closing = (async () => {
      // bounded: a wedged renderer must not hold the exit (the browser's close kills it anyway)
      await Promise.race([
        this.page.close().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 5000)),
      ]);
      await this.browser.pageClosed();
    })();
    return this.closing;
  }
}
