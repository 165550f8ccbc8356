/// <reference lib="dom" />
/// <reference lib="dom.asynciterable" />
/**
 * The participant page: livekit-client in headless Chromium, bundled with esbuild (bundle.ts) and
 * driven through `window.lkswarm` (protocol.ts). It publishes the microphone (Chromium's fake
 * device, fed from a WAV tone) and the test pattern drawn on a canvas, subscribes, reads the pixel
 * stamps of what it receives and hands its getStats() entries to the Node side, which maps them.
 */
import type { PageApi, PageJoin, PageLook, PageSample } from "../protocol.js";
import { PageParticipant } from "./page-participant.js";

/** The page's participants by slot: one Room each, so several share one page's renderer. */
class PageParticipants implements PageApi {
  private readonly slots = new Map<number, PageParticipant>();

  private at(slot: number): PageParticipant {
    let participant = this.slots.get(slot);
    if (participant === undefined) {
      participant = new PageParticipant(slot);
      this.slots.set(slot, participant);
    }
    return participant;
  }

  join(slot: number, options: PageJoin): Promise<boolean> {
    return this.at(slot).join(options);
  }

  sample(slot: number): Promise<PageSample> {
    return this.at(slot).sample();
  }

  look(slot: number): Promise<PageLook> {
    return this.at(slot).look();
  }

  ratchetKey(slot: number): boolean {
    return this.slots.get(slot)?.ratchetKey() ?? false;
  }

  simulate(slot: number, scenario: string): Promise<void> {
    return this.at(slot).simulate(scenario);
  }

  async leave(slot: number): Promise<void> {
    const participant = this.slots.get(slot);
    this.slots.delete(slot);
    await participant?.leave();
  }
}

(window as unknown as { lkswarm: PageApi }).lkswarm = new PageParticipants();
