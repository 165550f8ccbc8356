import type { Page } from "puppeteer-core";
import type { Chromium } from "./chromium.js";
import {
  slotElementId,
  type PageApi,
  type PageEvent,
  type PageJoin,
  type PageLook,
  type PageSample,
} from "./protocol.js";

type Lkswarm = { lkswarm: PageApi };

/** A page some participants share (one or several livekit-client Rooms in it), as the layout placed them. */
export interface PageHost {
  readonly page: Page;
  readonly chromium: Chromium;
  /** Several participants share the page: a screenshot is clipped to the participant's own box. */
  readonly shared: boolean;
  /**
   * The participant left or is gone: the page (and its browser) close once nobody else needs them;
   * resolves when what this release closed is closed.
   */
  release(participant: ParticipantPage): Promise<void>;
}

/**
 * One participant: a slot in a page (its own livekit-client Room there), in a browser that may
 * hold other pages (packages/browser/src/layout.ts). Every call into the page goes through
 * `window.lkswarm` with the slot (protocol.ts).
 */
export class ParticipantPage {
  private closed = false;

  constructor(
    private readonly host: PageHost,
    readonly slot: number,
    private readonly onEvent: (event: PageEvent) => void,
  ) {}

  /** An event the page sent for this slot; nothing after the participant left or was lost. */
  deliver(event: PageEvent): void {
    if (!this.closed) this.onEvent(event);
  }

  /** Its page crashed or its browser exited: a disconnect the run must count, with that reason. */
  gone(reason: "page_crashed" | "browser_exited"): void {
    if (this.closed) return;
    this.closed = true;
    this.onEvent({ type: "disconnected", reason });
    void this.host.release(this);
  }

  get connected(): boolean {
    return !this.closed;
  }

  /** The page the participant lives in (shared with the others of its page). */
  get page(): Page {
    return this.host.page;
  }

  join(options: PageJoin): Promise<boolean> {
    return this.host.page.evaluate(
      (slot, o) => (window as unknown as Lkswarm).lkswarm.join(slot, o),
      this.slot,
      options,
    );
  }

  sample(): Promise<PageSample> {
    return this.host.page.evaluate((slot) => (window as unknown as Lkswarm).lkswarm.sample(slot), this.slot);
  }

  ratchetKey(): Promise<boolean> {
    return this.host.page.evaluate(
      (slot) => (window as unknown as Lkswarm).lkswarm.ratchetKey(slot),
      this.slot,
    );
  }

  /** A drill's client.simulate scenario, run by livekit-client in the page; rejects with why not. */
  simulate(scenario: string): Promise<void> {
    return this.host.page.evaluate(
      (slot, s) => (window as unknown as Lkswarm).lkswarm.simulate(slot, s),
      this.slot,
      scenario,
    );
  }

  look(): Promise<PageLook> {
    return this.host.page.evaluate((slot) => (window as unknown as Lkswarm).lkswarm.look(slot), this.slot);
  }

  /**
   * What the participant shows: the published pattern and every received video. In a shared page,
   * only this participant's box (the others' videos are theirs).
   */
  async screenshot(path: `${string}.png`): Promise<void> {
    if (!this.host.shared) {
      await this.host.page.screenshot({ path, fullPage: true });
      return;
    }
    const box = await this.host.page.$(`#${slotElementId(this.slot)}`);
    if (box === null) throw new Error(`participant ${this.slot}'s box is not in its page`);
    await box.screenshot({ path });
  }

  /** Leaves the room (bounded: a wedged page must not hold the exit), then frees its slot. */
  async leave(): Promise<void> {
    if (this.closed) {
      await this.host.release(this);
      return;
    }
    this.closed = true;
    await Promise.race([
      this.host.page
        .evaluate((slot) => (window as unknown as Lkswarm).lkswarm.leave(slot), this.slot)
        .catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
    await this.host.release(this);
  }

  /** The browser's process id (tests check nothing of it is left). */
  get pid(): number | undefined {
    return this.host.chromium.browser.process()?.pid;
  }
}
