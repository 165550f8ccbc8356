import { CONSENT_FIELDS, ipv4Number, type LeanMediaAddon } from "./native-media.js";
import { copySlot } from "./slot-reading.js";

/** What the native thread sent and took of a pair's consent checks since it was handed them. */
export interface ConsentTally {
  readonly requests: number;
  readonly answers: number;
  /** The last answer's arrival (the kernel's), on the clock's time. */
  readonly answeredAt: number;
  /** The last answer's round trip, and the sum of them all, ms. */
  readonly rttMs: number;
  readonly rttSumMs: number;
  /** The last request when it is unanswered: its transaction id and when it went (the clock's time). */
  readonly outstanding?: { readonly id: Buffer; readonly sentAt: number } | undefined;
}

/**
 * The native media thread's consent checks on a socket it reads, as consent.ts drives them: the
 * thread sends the request it is given under a fresh transaction id on consent.ts's rules, and
 * takes its answer. NativeConsent is the addon's; consent.test.ts drives a fake.
 */
export interface ConsentThread {
  /** Whether the thread still reads the socket: its checks end with the read. */
  readonly live: boolean;
  /** Hands the checks over, the first at `firstAt` (the clock's time); a string says why not. */
  start(
    request: Buffer,
    password: string,
    remote: readonly [string, number],
    firstAt: number,
  ): string | undefined;
  read(): ConsentTally;
  stop(): void;
}

/** The consent state's fields (lean-media.c's CS_* order; 0 is the sequence lock's generation). */
const CS = {
  requests: 1,
  answers: 2,
  answeredMs: 3,
  rttMs: 4,
  rttSumMs: 5,
  outstanding: 6,
  sentMs: 7,
  transaction: 8,
} as const;

/**
 * Consent checks on a socket the native thread reads, sent and answered there (lean-media.c
 * consent_due, issue 51): consent.ts hands a pair's checks over, and reads what the thread did at
 * its 250 ms tick. At 30 audio rooms consent's requests and their answers were about 7% of the
 * JavaScript thread's samples (bench/results.md, 2026-12-02), each answer a datagram through the
 * batch, the tap and a HMAC in JavaScript. The thread's checks end with its read of the socket
 * (`live`), and consent.ts sends its own again.
 */
export class NativeConsent implements ConsentThread {
  /**
   * What the thread sent and took, written by it under the sequence lock. On an ArrayBuffer of its
   * own: a typed array this small is otherwise kept in V8's heap, where it may move.
   */
  private readonly state = new Float64Array(new ArrayBuffer(CONSENT_FIELDS * 8));
  private readonly reading = new Float64Array(CONSENT_FIELDS);

  /**
   * `id`: the thread's receiver for the socket; `clockOffset`: performance.now() minus the addon's
   * clock; `reads`: whether the thread still reads the socket under `id`.
   */
  constructor(
    private readonly addon: LeanMediaAddon,
    private readonly id: number,
    private readonly clockOffset: number,
    private readonly reads: () => boolean,
  ) {}

  get live(): boolean {
    return this.reads();
  }

  start(
    request: Buffer,
    password: string,
    remote: readonly [string, number],
    firstAt: number,
  ): string | undefined {
    const address = ipv4Number(remote[0]);
    if (address === undefined) return `the remote ${remote[0]} is not an IPv4 address`;
    try {
      this.addon.checkConsent(
        this.id,
        request,
        Buffer.from(password, "utf8"),
        address,
        remote[1],
        firstAt - this.clockOffset,
        this.state,
      );
      return undefined;
    } catch (err) {
      // a request or password longer than the thread holds (640 and 256 bytes; werift's
      // credentials are 4 and 22 characters): consent.ts checks it in JavaScript
      return err instanceof Error ? err.message : String(err);
    }
  }

  read(): ConsentTally {
    const s = copySlot(this.state, this.reading);
    const f = (i: number): number => s[i] ?? 0;
    let outstanding: ConsentTally["outstanding"];
    if (f(CS.outstanding) === 1) {
      const id = Buffer.alloc(12);
      for (let i = 0; i < 3; i++) id.writeUInt32BE(f(CS.transaction + i), 4 * i);
      outstanding = { id, sentAt: f(CS.sentMs) + this.clockOffset };
    }
    return {
      requests: f(CS.requests),
      answers: f(CS.answers),
      answeredAt: f(CS.answeredMs) + this.clockOffset,
      rttMs: f(CS.rttMs),
      rttSumMs: f(CS.rttSumMs),
      outstanding,
    };
  }

  stop(): void {
    // the thread stops only if this state is still the one it writes (not a later start's)
    this.addon.checkConsent(this.id, this.state);
  }
}
