/**
 * Which node carried whose signalling, from the balancer's log: HAProxy writes one line per
 * request with the server that answered it and the room and identity its access token names
 * (configs.ts). A WebSocket upgrade the node accepted (101) is a signalling connection; a
 * `/rtc/v1/validate` call or a refused join is not.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface SignalConnection {
  /** Epoch ms the balancer accepted the connection. */
  readonly at: number;
  /** The testbed node that served it (HAProxy's server name is the node's name). */
  readonly node: string;
  readonly room: string;
  readonly identity: string;
}

/** A quoted log field: HAProxy's `+E` escapes `"`, `\` and `]` with a backslash. */
const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const LINE = new RegExp(
  String.raw`^(\d+)\.(\d{3}) \S+ [^/\s]+/(\S+) (\d+) \S+ token=\S+ room=${QUOTED} identity=${QUOTED} `,
);

function unescape(field: string): string {
  return field.replace(/\\(.)/g, "$1");
}

/** The signalling connections in a balancer log's text, in the order they were logged. */
export function parseSignalLog(text: string): SignalConnection[] {
  const out: SignalConnection[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const [, seconds, millis, node, status, room, identity] = m;
    if (status !== "101" || room === undefined || identity === undefined || node === undefined) continue;
    if (room === "" || identity === "") continue;
    out.push({
      at: Number(seconds) * 1000 + Number(millis),
      node,
      room: unescape(room),
      identity: unescape(identity),
    });
  }
  return out;
}

/** The signalling connections a testbed's balancer logged; undefined when it has no balancer log. */
export function readSignalLog(runDir: string): SignalConnection[] | undefined {
  const file = join(runDir, "haproxy.log");
  return existsSync(file) ? parseSignalLog(readFileSync(file, "utf8")) : undefined;
}
