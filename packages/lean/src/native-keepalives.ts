import type { IceConnection } from "./binding.js";
import type { LeanMediaAddon } from "./native-media.js";

/** The selected pair whose counts an answered keepalive goes into, as binding.ts counts its own. */
type Pair = NonNullable<IceConnection["nominated"]>;

/**
 * The server's ICE keepalives on a socket the native thread reads (native-receive.ts), answered by
 * the thread (lean-media.c answer_keepalive, issue 51): the same checks and the same 64 bytes as
 * binding.ts's, which answers them in JavaScript otherwise, without the datagram coming to
 * JavaScript or the answer leaving through it. Most of the JavaScript thread's STUN traffic on a
 * subscriber socket, or an audio-only publisher's, is these (LiveKit's agent sends one every 2 s on each selected pair): at 30
 * audio rooms, 60 answers a second went through JavaScript (bench/results.md). What the thread
 * answered goes into the pair's counts (requestsReceived, responsesSent) and `count` at each sync,
 * read from a count the thread writes, without its lock.
 */
export class NativeKeepalives {
  /**
   * What the thread answered, written by it (lean-media.c), and how much of it is folded. On an
   * ArrayBuffer of its own: a typed array this small is otherwise kept in V8's heap, where it may
   * move, until the addon first asks for its memory.
   */
  private readonly answered = new Float64Array(new ArrayBuffer(8));
  private folded = 0;
  /** The credentials and role the thread answers with, as last given to it (none yet). */
  private given: readonly [string, string, boolean] | undefined;
  private pair: Pair | undefined;

  constructor(
    private readonly addon: LeanMediaAddon,
    private readonly id: number,
    private readonly connection: IceConnection,
    private readonly count: { keepalives?: number },
  ) {}

  /**
   * Folds what the thread answered since the last sync into the pair it answered on, and gives the
   * thread the connection's credentials and role when they changed (an ICE restart, a role switch)
   * and `pair` is the socket's selected pair: call at take and at each check.
   */
  sync(pair: Pair | undefined): void {
    this.fold();
    this.pair = pair;
    const { localUsername, localPassword, iceControlling } = this.connection;
    const given = this.given;
    if (given?.[0] === localUsername && given[1] === localPassword && given[2] === iceControlling) return;
    this.given = [localUsername, localPassword, iceControlling];
    try {
      this.addon.answerKeepalives(
        this.id,
        Buffer.from(localUsername, "utf8"),
        Buffer.from(localPassword, "utf8"),
        iceControlling,
        this.answered,
      );
    } catch {
      // credentials longer than the thread holds (256 bytes; werift's are 4 and 22 characters):
      // binding.ts answers in JavaScript, as it did before
      this.addon.answerKeepalives(this.id);
    }
  }

  /** The thread stops answering; what it answered is folded. Call before the socket is released. */
  stop(): void {
    this.addon.answerKeepalives(this.id);
    this.fold();
    this.given = undefined;
  }

  private fold(): void {
    const total = this.answered[0] ?? 0;
    const answered = total - this.folded;
    if (answered === 0) return;
    this.folded = total;
    this.count.keepalives = (this.count.keepalives ?? 0) + answered;
    if (this.pair === undefined) return;
    this.pair.requestsReceived += answered;
    this.pair.responsesSent += answered;
  }
}
