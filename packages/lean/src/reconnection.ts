import { LeanError } from "./errors.js";
import {
  DEFAULT_RECONNECT_POLICY,
  reconnectEpisode,
  type EpisodeOutcome,
  type ReconnectCause,
  type ReconnectPolicy,
  type Reconnectable,
} from "./reconnect.js";

/** What a Reconnection asks of the participant besides resume and rejoin. */
export interface ReconnectionHooks {
  /** Whether the join finished: before it, the join's own waits fail and report a loss. */
  joined(): boolean;
  /** The session ended without a reconnect: say `disconnected` once and stop sending. */
  ended(reason: string): void;
  /** Close the lost signalling socket before the episode's first attempt. */
  closeSignal(): void;
  /** The episode gave up (it said `disconnected`): nothing more will come from this participant. */
  gaveUp(): void;
}

/**
 * A participant's losses, one reconnect episode at a time: a loss while an episode runs fails the
 * attempt under way (the attempt checks `attemptHeld`) and, if it comes after the attempt's last
 * look, starts the next episode once this one ends.
 */
export class Reconnection {
  private running = false;
  /** A loss seen while an attempt ran (its new socket closed, a leave asking again): the attempt failed. */
  private lossDuringAttempt: ReconnectCause | undefined;
  /** How the last episode went: its path, attempts and each failed attempt's message. */
  last: EpisodeOutcome | undefined;

  constructor(
    private readonly session: Reconnectable,
    private readonly hooks: ReconnectionHooks,
    private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
    private readonly episode: (
      session: Reconnectable,
      cause: ReconnectCause,
      policy: ReconnectPolicy,
    ) => Promise<EpisodeOutcome> = reconnectEpisode,
  ) {}

  /** An episode is under way: its attempts handle what fails meanwhile. */
  get busy(): boolean {
    return this.running;
  }

  /** Signalling or media went. */
  lost(cause: ReconnectCause): void {
    if (this.session.over()) return;
    if (this.running) {
      this.lossDuringAttempt ??= cause;
      return;
    }
    if (!this.hooks.joined()) {
      // the join's own waits fail and report it; a closed socket is the only thing to say here
      if (cause === "signal-closed" || cause === "ping-timeout")
        this.hooks.ended(`signalling lost (${cause}) while joining`);
      return;
    }
    this.running = true;
    this.hooks.closeSignal();
    void this.episode(this.session, cause, this.policy).then((outcome) => {
      this.running = false;
      this.last = outcome;
      const again = this.lossDuringAttempt;
      this.lossDuringAttempt = undefined;
      if (outcome.path === undefined) this.hooks.gaveUp();
      else if (again !== undefined) {
        // lost again between the attempt's last look and the episode's end
        this.lost(again);
      }
    });
  }

  /** An attempt starts: only what is lost from now on fails it. */
  attemptStarts(): void {
    this.lossDuringAttempt = undefined;
  }

  /** Something was lost since the attempt started: its waits can stop, attemptHeld will throw. */
  get lostDuringAttempt(): boolean {
    return this.lossDuringAttempt !== undefined;
  }

  /** Throws when something was lost while the attempt ran: it did not bring the session back. */
  attemptHeld(path: string): void {
    const loss = this.lossDuringAttempt;
    this.lossDuringAttempt = undefined;
    if (loss !== undefined) throw new LeanError("closed", `lost again during the ${path} (${loss})`);
  }
}
