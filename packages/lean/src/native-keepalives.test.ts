import { createHmac, randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Message, classes, methods } from "werift";
import { nativeAddon } from "../test/native-addon.js";
import { loopbackSockets, nextDatagram as next } from "../test/udp.js";
import { bindingSuccess, keepaliveRequest } from "./binding.js";
import { nativeReceiving } from "./native-receive.js";

/**
 * The native thread's answers to the server's ICE keepalives (lean-media.c answer_keepalive) held
 * to binding.ts's, the TypeScript path's (keepaliveRequest, bindingSuccess), which werift's bytes
 * hold in turn (binding.test.ts).
 */

const native = nativeAddon();
const bound = loopbackSockets();

/** A keepalive signed by werift's STUN code with `attributes` in their order. */
function request(attributes: readonly [string, unknown][], password: string): Buffer {
  const m = new Message(methods.BINDING, classes.REQUEST, randomBytes(12));
  for (const [key, value] of attributes) m.setAttribute(key as never, value);
  return m.addMessageIntegrity(Buffer.from(password, "utf8")).addFingerprint().bytes;
}

/** ICE's ice-chars (RFC 8445 5.3): letters, digits, "+" and "/". */
function iceChars(length: number): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
}

function dotted(address: number): string {
  return [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff].join(".");
}

/** The TypeScript path's answer to `data`, or undefined when it leaves it to werift. */
function oracle(
  data: Buffer,
  ufrag: string,
  password: string,
  controlling: boolean,
  address: number,
  port: number,
): Buffer | undefined {
  const taken = keepaliveRequest(data, ufrag, password, controlling);
  return taken === undefined ? undefined : bindingSuccess(taken, dotted(address), port, password);
}

/** A random keepalive: pion's attributes, now and then with a nomination, a role or a username of another ufrag. */
function randomRequest(ufrag: string, password: string): Buffer {
  const attributes: [string, unknown][] = [];
  const name = [`${ufrag}:${iceChars(4)}`, `${ufrag}x:srv`, `${iceChars(4)}:${ufrag}`, ufrag][
    randomInt(10) < 7 ? 0 : randomInt(1, 4)
  ];
  attributes.push(["USERNAME", name]);
  if (randomInt(2) === 0) attributes.push(["PRIORITY", randomInt(0x7fff_ffff)]);
  const role = randomInt(6);
  if (role < 3) attributes.push(["ICE-CONTROLLING", BigInt(randomInt(0xffff_ffff)) << 16n]);
  else if (role < 5) attributes.push(["ICE-CONTROLLED", BigInt(randomInt(0xffff_ffff))]);
  if (randomInt(8) === 0) attributes.push(["USE-CANDIDATE", null]);
  if (randomInt(2) === 0) attributes.reverse();
  return request(attributes, randomInt(12) === 0 ? `${password}!` : password);
}

describe("the native thread's keepalive answers against binding.ts's (the oracle)", () => {
  it("answers what binding.ts answers with the same 64 bytes, and leaves to JavaScript what it leaves: random keepalives, credentials and addresses, and each one damaged", () => {
    let answered = 0;
    let left = 0;
    for (let i = 0; i < 400; i++) {
      const ufrag = iceChars([4, 8, 16, 256][i % 4] ?? 4);
      // passwords are ice-chars too, but one in five here is other UTF-8, HMAC's key as werift's
      const password = i % 5 === 0 ? `pässwörd-${iceChars(randomInt(0, 40))}-☃` : iceChars(22 + (i % 20));
      const controlling = i % 2 === 0;
      const address = i % 3 === 0 ? 0x7f000001 : randomInt(0x1_0000_0000);
      const port = i % 7 === 0 ? 65535 : randomInt(1, 65536);
      const data = randomRequest(ufrag, password);
      const damaged = Buffer.from(data);
      const at = randomInt(damaged.length);
      damaged[at] = (damaged[at] ?? 0) ^ (1 << randomInt(8));
      const cases: [string, Buffer][] = [
        ["as sent", data],
        [`byte ${String(at)} flipped`, damaged],
        ["truncated", data.subarray(0, randomInt(data.length))],
        ["with a byte more", Buffer.concat([data, Buffer.from([0])])],
      ];
      for (const [what, bytes] of cases) {
        const expected = oracle(bytes, ufrag, password, controlling, address, port);
        const got = native().answerKeepalive(
          bytes,
          Buffer.from(ufrag, "utf8"),
          Buffer.from(password, "utf8"),
          controlling,
          address,
          port,
        );
        expect(got?.toString("hex"), `case ${String(i)}, ${what}`).toBe(expected?.toString("hex"));
        if (expected === undefined) left++;
        else answered++;
      }
    }
    // both sides of the comparison were exercised, each many times
    expect(answered).toBeGreaterThan(100);
    expect(left).toBeGreaterThan(400);
  });

  it("decides as binding.ts on the edges of the attribute walk, each case written out", () => {
    const ufrag = "uF1x";
    const password = "edge-password-0123456789";
    const attribute = (type: number, value: Buffer): Buffer => {
      const header = Buffer.alloc(4);
      header.writeUInt16BE(type, 0);
      header.writeUInt16BE(value.length, 2);
      return Buffer.concat([header, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
    };
    /** A request of `before` attributes, MESSAGE-INTEGRITY `integrityBytes` long (signed when 20), then `after`, its header's length the whole. */
    const craft = (before: Buffer[], integrityBytes = 20, after: Buffer[] = []): Buffer => {
      const head = Buffer.alloc(20);
      head.writeUInt16BE(0x0001, 0);
      head.writeUInt32BE(0x2112a442, 4);
      randomBytes(12).copy(head, 8);
      const body = Buffer.concat(before);
      const signed = Buffer.concat([head, body]);
      signed.writeUInt16BE(body.length + 4 + 20, 2);
      const mac =
        integrityBytes === 20
          ? createHmac("sha1", password).update(signed).digest()
          : randomBytes(integrityBytes);
      const message = Buffer.concat([signed, attribute(0x0008, mac), ...after]);
      message.writeUInt16BE(message.length - 20, 2);
      return message;
    };
    const user = (name: string) => attribute(0x0006, Buffer.from(name, "utf8"));
    const controlling = attribute(0x802a, Buffer.alloc(8, 7));
    const fingerprint = attribute(0x8028, Buffer.alloc(4));
    const cases: [string, Buffer, boolean][] = [
      ["a keepalive", craft([user(`${ufrag}:srv`), controlling]), true],
      [
        "a fingerprint after the integrity (not checked, as binding.ts)",
        craft([user(`${ufrag}:srv`)], 20, [fingerprint]),
        true,
      ],
      ["a USERNAME after the integrity", craft([controlling], 20, [user(`${ufrag}:srv`)]), false],
      [
        "a role claim after the integrity",
        craft([user(`${ufrag}:srv`)], 20, [attribute(0x8029, Buffer.alloc(8))]),
        false,
      ],
      ["an integrity of 19 bytes", craft([user(`${ufrag}:srv`)], 19), false],
      ["an integrity of 21 bytes", craft([user(`${ufrag}:srv`)], 21), false],
      ["the ufrag and a colon, nothing after", craft([user(`${ufrag}:`)]), true],
      ["the ufrag alone", craft([user(ufrag)]), false],
      // the byte after a 4-byte USERNAME is the next attribute's: a ":" there is not the name's
      [
        "the ufrag alone, then an attribute whose type starts with ':'",
        craft([user(ufrag), attribute(0x3a00, Buffer.alloc(4))]),
        false,
      ],
      ["two USERNAMEs, ours last", craft([user("zzzz:srv"), user(`${ufrag}:srv`)]), true],
      ["two USERNAMEs, ours first", craft([user(`${ufrag}:srv`), user("zzzz:srv")]), false],
      ["no USERNAME", craft([controlling]), false],
      [
        "an unknown attribute of 1 byte, padded",
        craft([user(`${ufrag}:srv`), attribute(0x7777, Buffer.from([1]))]),
        true,
      ],
    ];
    for (const trailing of [1, 2, 3]) {
      const data = Buffer.concat([craft([user(`${ufrag}:srv`)]), Buffer.alloc(trailing)]);
      data.writeUInt16BE(data.length - 20, 2);
      cases.push([`${String(trailing)} bytes after the last attribute, counted in the length`, data, false]);
    }
    for (const [what, data, answers] of cases) {
      const expected = oracle(data, ufrag, password, false, 0x7f000001, 4242);
      expect(expected !== undefined, `binding.ts on ${what}`).toBe(answers);
      const got = native().answerKeepalive(
        data,
        Buffer.from(ufrag),
        Buffer.from(password),
        false,
        0x7f000001,
        4242,
      );
      expect(got?.toString("hex"), what).toBe(expected?.toString("hex"));
    }
  });

  it("refuses credentials over 256 bytes and a port out of range, naming its arguments", () => {
    const data = request([["USERNAME", "abcd:efgh"]], "p");
    const answer = (ufrag: Buffer, password: Buffer, port: number) =>
      native().answerKeepalive(data, ufrag, password, false, 0x7f000001, port);
    expect(answer(Buffer.from("abcd"), Buffer.from("p"), 1)).toBeDefined();
    expect(() => answer(Buffer.alloc(257), Buffer.from("p"), 1)).toThrow(/answerKeepalive\(request/);
    expect(() => answer(Buffer.from("abcd"), Buffer.alloc(257), 1)).toThrow(/answerKeepalive\(request/);
    expect(() => answer(Buffer.from("abcd"), Buffer.from("p"), 65536)).toThrow(/answerKeepalive\(request/);
  });
});

describe("keepalives on a socket the native thread reads", () => {
  it("answers the selected pair's remote from the thread once given the credentials, and hands the rest to the socket's listeners as before", async () => {
    const m = native();
    const receiving = nativeReceiving(m);
    const [into, server, stranger] = await Promise.all([bound(), bound(), bound()]);
    const ufrag = "lEaN";
    const password = "local-password-0123456789";
    const id = receiving.take(into, ["127.0.0.1", server.address().port], { rtp: () => undefined });
    if (typeof id === "string") throw new Error(id);
    const heard: Buffer[] = [];
    into.on("message", (data: Buffer) => heard.push(data));
    const keepalive = (): Buffer =>
      request(
        [
          ["USERNAME", `${ufrag}:srv1`],
          ["ICE-CONTROLLING", 7n],
          ["PRIORITY", 1853817087],
        ],
        password,
      );
    try {
      // before the credentials: the listeners get it (binding.ts answers it in JavaScript)
      const first = keepalive();
      server.send(first, into.address().port, "127.0.0.1");
      expect(await next(server), "no answer from the thread yet").toBeUndefined();
      expect(heard).toEqual([first]);

      const answered = new Float64Array(1);
      m.answerKeepalives(id, Buffer.from(ufrag), Buffer.from(password), false, answered);
      const asked = keepalive();
      server.send(asked, into.address().port, "127.0.0.1");
      const answer = await next(server);
      expect(answer?.toString("hex")).toBe(
        oracle(asked, ufrag, password, false, 0x7f000001, server.address().port)?.toString("hex"),
      );
      expect(heard, "the answered keepalive never reached JavaScript").toHaveLength(1);
      expect(answered[0]).toBe(1);

      // from another address than the pair's remote, or a nomination: JavaScript's, unanswered here
      const fromStranger = keepalive();
      stranger.send(fromStranger, into.address().port, "127.0.0.1");
      expect(await next(stranger)).toBeUndefined();
      const nominating = request(
        [
          ["USERNAME", `${ufrag}:srv1`],
          ["ICE-CONTROLLING", 7n],
          ["USE-CANDIDATE", null],
        ],
        password,
      );
      server.send(nominating, into.address().port, "127.0.0.1");
      expect(await next(server)).toBeUndefined();
      expect(heard.slice(1)).toEqual([fromStranger, nominating]);

      // stopped: JavaScript's again
      m.answerKeepalives(id);
      const after = keepalive();
      server.send(after, into.address().port, "127.0.0.1");
      expect(await next(server)).toBeUndefined();
      expect(heard.at(-1)).toEqual(after);
      expect(answered[0], "none answered after the stop").toBe(1);
      expect(() => {
        m.answerKeepalives(id, Buffer.from(ufrag), Buffer.from(password), false, new Float64Array(0));
      }).toThrow(/answered: Float64Array\(1\)/);
      expect(() => {
        (m.answerKeepalives as (...a: unknown[]) => void)(id, Buffer.from(ufrag), Buffer.from(password));
      }, "credentials without a role and a count are refused, not taken as a stop").toThrow(
        /answerKeepalives\(id/,
      );
    } finally {
      receiving.release(id);
    }
  });
});
