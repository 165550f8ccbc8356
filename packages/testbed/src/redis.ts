import { connect } from "node:net";

export type RespValue = string | number | null | RespValue[];

/**
 * Sends one command to Redis and returns its reply. A one-shot connection is enough for the few
 * look-ups the testbed makes (node registry, room placement) and has no reconnect loop to leak.
 */
export function redisCommand(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs = 2000,
): Promise<RespValue> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${host}:${port} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseResp(buffer, 0);
      if (parsed === undefined) return;
      clearTimeout(timer);
      socket.end();
      if (parsed.value instanceof RespError) reject(parsed.value);
      else resolve(parsed.value);
    });
    let request = `*${args.length}\r\n`;
    for (const arg of args) request += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    socket.write(request);
  });
}

export class RespError extends Error {}

interface Parsed {
  value: RespValue | RespError;
  end: number;
}

/** Parses one RESP2 value at `offset`; undefined when the buffer does not yet hold all of it. */
export function parseResp(buf: Buffer, offset: number): Parsed | undefined {
  const lineEnd = buf.indexOf("\r\n", offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RespError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      // binary-safe enough for our use: values we read are protobuf, we only need their bytes' presence
      return { value: buf.toString("latin1", next, next + len), end: next + len + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buf, pos);
        if (item === undefined) return undefined;
        if (item.value instanceof RespError) return item;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      return { value: new RespError(`unexpected RESP type byte ${JSON.stringify(type)}`), end: next };
  }
}
