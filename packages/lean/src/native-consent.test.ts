import { randomBytes, randomInt } from "node:crypto";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { parseMessage } from "werift";
import { nativeAddon } from "../test/native-addon.js";
import { loopbackSockets, nextDatagram as next, waitUntil } from "../test/udp.js";
import { bindingSuccess } from "./binding.js";
import { PRFLX_UDP_PRIORITY, consentAnswered, consentRequest } from "./consent.js";
import { nativeReceiving } from "./native-receive.js";

/**
 * The native thread's consent checks (lean-media.c consent_due, native-consent.ts) held to
 * consent.ts's, the TypeScript path's: the request it sends under each transaction id is
 * consentRequest's bytes, and it takes as the answer what consentAnswered takes.
 */

const native = nativeAddon();
const bound = loopbackSockets();
const TIE = 0x1234_5678_9abc_def0n;

/** ICE's ice-chars (RFC 8445 5.3), now and then other UTF-8. */
function credential(length: number): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const ice = Array.from({ length }, () => chars[randomInt(chars.length)]).join("");
  return randomInt(6) === 0 ? `${ice}-pässwörd-☃` : ice;
}

describe("the native thread's consent requests and answers against consent.ts's (the oracle)", () => {
  it("sends consentRequest's bytes under each transaction id, and takes what consentAnswered takes: random credentials (passwords to 254 bytes), roles and answers, each one damaged", () => {
    let taken = 0;
    let left = 0;
    for (let i = 0; i < 300; i++) {
      const username = `${credential([4, 8, 16, 255][i % 4] ?? 4)}:${credential(4 + (i % 5))}`;
      // longer than SHA-1's 64-byte block now and then: HMAC hashes such a key first
      const password = credential(i % 10 === 0 ? randomInt(60, 240) : 22 + (i % 30));
      const controlling = i % 2 === 0;
      const tieBreaker = i % 7 === 0 ? 2n ** 64n - 1n : BigInt(randomInt(2 ** 48 - 1)) << BigInt(i % 17);
      const priority = i % 3 === 0 ? PRFLX_UDP_PRIORITY : randomInt(2 ** 32 - 1);
      // the thread is given a request under any id and writes its own over it
      const template = consentRequest(randomBytes(12), username, priority, controlling, tieBreaker, password);
      const id = randomBytes(12);
      const expected = consentRequest(id, username, priority, controlling, tieBreaker, password);
      expect(
        native().consentRequest(template, Buffer.from(password, "utf8"), id).toString("hex"),
        `${username} ${password}`,
      ).toBe(expected.toString("hex"));

      const answer = bindingSuccess(
        { transactionId: i % 11 === 0 ? randomBytes(12) : id },
        "127.0.0.1",
        randomInt(1, 65536),
        i % 13 === 0 ? `${password}!` : password,
      );
      const damaged = Buffer.from(answer);
      const at = randomInt(damaged.length);
      damaged[at] = (damaged[at] ?? 0) ^ (1 << randomInt(8));
      for (const data of [answer, damaged, answer.subarray(0, randomInt(answer.length)), expected]) {
        const oracle = consentAnswered(data, id, password);
        expect(native().consentAnswered(data, id, Buffer.from(password, "utf8")), data.toString("hex")).toBe(
          oracle,
        );
        if (oracle) taken++;
        else left++;
      }
    }
    // both sides of the comparison were exercised, each many times
    expect(taken).toBeGreaterThan(200);
    expect(left).toBeGreaterThan(600);
  });

  it("refuses a request that does not end in MESSAGE-INTEGRITY and FINGERPRINT, and a password over 256 bytes, naming its arguments", () => {
    const id = randomBytes(12);
    const good = consentRequest(id, "a:b", 1, true, TIE, "p");
    expect(native().consentRequest(good, Buffer.from("p"), id)).toEqual(good);
    expect(() => native().consentRequest(good.subarray(0, good.length - 8), Buffer.from("p"), id)).toThrow(
      /consentRequest\(request/,
    );
    expect(() => native().consentRequest(good, Buffer.alloc(257), id)).toThrow(/consentRequest\(request/);
    expect(() => native().consentRequest(good, Buffer.from("p"), id.subarray(0, 11))).toThrow(
      /transactionId: Buffer\(12\)/,
    );
    const long = consentRequest(id, `${"u".repeat(600)}:b`, 1, true, TIE, "p");
    expect(() => native().consentRequest(long, Buffer.from("p"), id), "over 640 bytes").toThrow(
      /up to 640 bytes/,
    );
  });
});

/** Waits until `done` holds, 2 s at most. */
const until = (done: () => boolean): Promise<void> => waitUntil(done, 2000);

describe("consent checks on a socket the native thread reads", () => {
  it("sends the request when due and every 4-6 s, takes its answer with the kernel's round trip, hands the rest on, and stops when told or when it lets go of the socket", async () => {
    const receiving = nativeReceiving(native());
    const [into, server] = await Promise.all([bound(), bound()]);
    const remote = ["127.0.0.1", server.address().port] as const;
    const id = receiving.take(into, remote, { rtp: () => undefined });
    if (typeof id === "string") throw new Error(id);
    const heard: Buffer[] = [];
    into.on("message", (data: Buffer) => heard.push(data));
    const password = "remote-password-0123456789";
    const template = consentRequest(Buffer.alloc(12), "rUfr:lUfr", PRFLX_UDP_PRIORITY, true, TIE, password);
    try {
      const consent = receiving.consentOn(into);
      expect(consent?.live).toBe(true);
      if (consent === undefined) throw new Error("no consent on a socket the thread reads");
      const startedAt = performance.now();
      expect(consent.start(template, password, remote, startedAt)).toBeUndefined();
      const first = await next(server);
      const arrived = performance.now();
      if (first === undefined) throw new Error("no request from the thread within 500 ms");
      // consent.ts's request under the thread's transaction id, which werift's parser takes
      const transactionId = first.subarray(8, 20);
      expect(first.toString("hex")).toBe(
        consentRequest(transactionId, "rUfr:lUfr", PRFLX_UDP_PRIORITY, true, TIE, password).toString("hex"),
      );
      expect(parseMessage(first, Buffer.from(password))?.getAttributeValue("USERNAME")).toBe("rUfr:lUfr");
      // counted just after its sendto, which may wake this thread first
      await until(() => consent.read().requests === 1);
      const asked = consent.read();
      expect(asked).toMatchObject({ requests: 1, answers: 0 });
      // the request outstanding, under its id, sent between the start and its arrival here
      expect(asked.outstanding?.id.equals(transactionId)).toBe(true);
      expect(asked.outstanding?.sentAt ?? 0).toBeGreaterThanOrEqual(startedAt);
      expect(asked.outstanding?.sentAt ?? Infinity).toBeLessThanOrEqual(arrived);

      // another request's answer, and this one's signed with another password: handed on
      const wrongId = bindingSuccess({ transactionId: randomBytes(12) }, "127.0.0.1", 1, password);
      const wrongPassword = bindingSuccess({ transactionId }, "127.0.0.1", 1, "another-password");
      server.send(wrongId, into.address().port, "127.0.0.1");
      server.send(wrongPassword, into.address().port, "127.0.0.1");
      await once(into, "message");
      if (heard.length < 2) await once(into, "message");
      expect(heard).toEqual([wrongId, wrongPassword]);
      expect(consent.read().answers).toBe(0);

      const answerSentAt = performance.now();
      const answerSentBy = await new Promise<number>((resolve) => {
        server.send(
          bindingSuccess({ transactionId }, "127.0.0.1", 1, password),
          into.address().port,
          "127.0.0.1",
          () => {
            resolve(performance.now());
          },
        );
      });
      await until(() => consent.read().answers === 1);
      const t = consent.read();
      expect(t).toMatchObject({ requests: 1, answers: 1, outstanding: undefined });
      expect(heard, "the answer never reached JavaScript").toHaveLength(2);
      // timed from the thread's send to the kernel's arrival: the answer's arrival between its send
      // and the send's callback here (the next tick's read, up to 20 ms on, would be after it), and
      // the round trip from the request's send
      expect(t.answeredAt).toBeGreaterThanOrEqual(answerSentAt - 0.5);
      expect(t.answeredAt).toBeLessThanOrEqual(answerSentBy + 0.5);
      expect(t.rttMs).toBeCloseTo(t.answeredAt - (asked.outstanding?.sentAt ?? 0), 6);
      expect(t.rttSumMs).toBe(t.rttMs);
      // a second answer to the same request is not taken
      server.send(
        bindingSuccess({ transactionId }, "127.0.0.1", 1, password),
        into.address().port,
        "127.0.0.1",
      );
      await once(into, "message");
      expect(consent.read().answers).toBe(1);

      // the next request 4-6 s after the first, under a new transaction id
      const second = await next(server, 6500);
      const gap = performance.now() - arrived;
      if (second === undefined) throw new Error("no second request within 6.5 s");
      expect(gap).toBeGreaterThan(4000 - 40);
      expect(gap).toBeLessThan(6000 + 100);
      expect(second.subarray(8, 20).equals(transactionId)).toBe(false);
      await until(() => consent.read().requests === 2);
      expect(consent.read().requests).toBe(2);

      // a stale state does not stop a later start; its own does
      const later = receiving.consentOn(into);
      if (later === undefined) throw new Error("no consent");
      later.start(template, password, remote, performance.now() + 150);
      consent.stop();
      expect(await next(server), "the later start still sends").toBeDefined();
      later.start(template, password, remote, performance.now() + 150);
      later.stop();
      expect(await next(server), "stopped before its first request").toBeUndefined();
      expect(later.read().requests).toBe(1);
      // a request that is not a binding request ending in MESSAGE-INTEGRITY and FINGERPRINT
      const notBinding = Buffer.from(template);
      notBinding.writeUInt16BE(0x0101, 0);
      expect(later.start(notBinding, password, remote, performance.now())).toMatch(
        /checkConsent\(id, request/,
      );

      // the thread lets go of the socket: its checks end with the read
      const last = receiving.consentOn(into);
      receiving.release(id);
      expect(last?.live).toBe(false);
      expect(consent.live).toBe(false);
    } finally {
      receiving.release(id);
    }
  }, 15_000);
});
