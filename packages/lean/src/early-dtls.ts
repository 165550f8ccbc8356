import { Connection, DtlsClient, DtlsServer } from "werift";

/**
 * A ClientHello that arrives before werift's DTLS server listens, kept and handed to it.
 *
 * On the publisher PeerConnection lean offers, so it controls ICE and is the DTLS server; LiveKit
 * (pion) is the DTLS client and sends its ClientHello as soon as its own ICE has a selected pair.
 * werift nominates in its first check, so pion's ICE is up a round trip after the check, but
 * werift's own ICE says "connected" up to 20 ms later (its check scheduler sleeps 20 ms a turn)
 * and only then makes its DTLS server, whose transport hears nothing before it exists: the
 * ClientHello was lost every time and pion sent it again 100 ms on (LiveKit's DTLS retransmission
 * interval). On loopback with no loss a lean publisher joined in 120 ms where a native one took 67
 * (2026-11-27, 8 rooms of 1+4, median). libwebrtc keeps a ClientHello that comes before its DTLS
 * is set up and reads it then (its DtlsTransport's cached ClientHello); this does the same.
 *
 * From the start of a controlling connection's checks until a DTLS transport is made on it, the
 * DTLS records it receives (up to `KEPT_LIMIT` datagrams) are kept; a DTLS server made on it is
 * handed them, in order, once it has wired its events (a microtask on); a DTLS client drops them.
 */

/** Datagrams kept per connection: a ClientHello and its resends, with room to spare. */
export const KEPT_LIMIT = 8;

/** A DTLS record's first byte, its content type, is 20-63 (RFC 7983's demultiplexing). */
export function isDtlsRecord(datagram: Buffer): boolean {
  const first = datagram[0];
  return first !== undefined && first >= 20 && first <= 63;
}

/** The DTLS datagrams a connection received before its DTLS transport was made. */
export class EarlyDatagrams {
  private kept: Buffer[] = [];
  private open = true;

  /** A datagram the connection received: kept when it is DTLS, there is room, and nobody took them. */
  offer(datagram: Buffer): void {
    if (this.open && this.kept.length < KEPT_LIMIT && isDtlsRecord(datagram)) this.kept.push(datagram);
  }

  /** What was kept, once: after this nothing more is kept. */
  take(): Buffer[] {
    this.open = false;
    const kept = this.kept;
    this.kept = [];
    return kept;
  }
}

/** What of a werift ICE connection this reads. */
interface KeepingConnection {
  readonly iceControlling: boolean;
  readonly onData: { subscribe(f: (data: Buffer) => void): { unSubscribe: () => void } };
}

/** What of a werift DTLS socket this reads: its transport's ICE connection and the receive it wires. */
interface DtlsSocketLike {
  readonly transport?: { readonly socket?: { readonly ice?: object; onData?: (data: Buffer) => void } };
}

const keeping = new WeakMap<object, { datagrams: EarlyDatagrams; unsubscribe: () => void }>();
/** Connections a DTLS transport was made on: an ICE restart's checks keep nothing. */
const spoken = new WeakSet<object>();

/** Starts keeping `connection`'s early DTLS datagrams (see the top of this file). */
export function keepEarly(connection: KeepingConnection): void {
  if (!connection.iceControlling || keeping.has(connection) || spoken.has(connection)) return;
  const datagrams = new EarlyDatagrams();
  const { unSubscribe } = connection.onData.subscribe((data) => {
    datagrams.offer(data);
  });
  keeping.set(connection, { datagrams, unsubscribe: unSubscribe });
}

/** Ends the keeping for the connection under `socket` and returns what was kept. */
export function takeEarly(socket: DtlsSocketLike): Buffer[] {
  const connection = socket.transport?.socket?.ice;
  if (connection === undefined) return [];
  spoken.add(connection);
  const entry = keeping.get(connection);
  if (entry === undefined) return [];
  keeping.delete(connection);
  entry.unsubscribe();
  return entry.datagrams.take();
}

let installed = false;

/**
 * Every werift ICE connection of this process that controls keeps its early DTLS datagrams for the
 * DTLS server made on it (see the top of this file): werift's `Connection.connect` starts the
 * keeping, and the DTLS socket's constructor, through `setupExtensions`, ends it. Once per process.
 */
export function keepEarlyClientHellos(): void {
  if (installed) return;
  const connectionProto = Connection.prototype as unknown as {
    connect?: (this: KeepingConnection, ...args: unknown[]) => Promise<unknown>;
  };
  const serverProto = DtlsServer.prototype as unknown as { setupExtensions?: (this: DtlsSocketLike) => void };
  const clientProto = DtlsClient.prototype as unknown as { setupExtensions?: (this: DtlsSocketLike) => void };
  const connect = connectionProto.connect;
  const serverSetup = serverProto.setupExtensions;
  const clientSetup = clientProto.setupExtensions;
  if (typeof connect !== "function" || typeof serverSetup !== "function" || typeof clientSetup !== "function")
    throw new Error(
      "werift's ICE Connection has no connect, or its DTLS sockets no setupExtensions, where lean keeps an early ClientHello: werift changed; check packages/lean's pinned werift version",
    );
  installed = true;
  connectionProto.connect = function (this: KeepingConnection, ...args: unknown[]) {
    keepEarly(this);
    return connect.apply(this, args);
  };
  serverProto.setupExtensions = function (this: DtlsSocketLike) {
    serverSetup.call(this);
    const kept = takeEarly(this);
    if (kept.length === 0) return;
    // the constructor wires the socket's receive and werift its events right after this
    queueMicrotask(() => {
      const receive = this.transport?.socket?.onData;
      if (typeof receive === "function") for (const datagram of kept) receive(datagram);
    });
  };
  clientProto.setupExtensions = function (this: DtlsSocketLike) {
    clientSetup.call(this);
    takeEarly(this);
  };
}
