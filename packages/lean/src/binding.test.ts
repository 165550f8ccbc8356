import { describe, expect, it } from "vitest";
import { Message, classes, methods, parseMessage } from "werift";
import { bindingSuccess, keepaliveRequest } from "./binding.js";

const UFRAG = "aB3d";
const PASSWORD = "lean-local-password-0123";

/** A keepalive as pion's controlling agent writes one, built and signed by werift's STUN code. */
function request(
  attributes: [string, unknown][] = [
    ["USERNAME", `${UFRAG}:srvUfrag`],
    ["ICE-CONTROLLING", 0x1122334455667788n],
    ["PRIORITY", 1853817087],
  ],
  password = PASSWORD,
): Buffer {
  const m = new Message(methods.BINDING, classes.REQUEST);
  for (const [key, value] of attributes) m.setAttribute(key as never, value);
  return m.addMessageIntegrity(Buffer.from(password, "utf8")).addFingerprint().bytes;
}

describe("keepaliveRequest", () => {
  it("takes a binding request naming our ufrag with a valid MESSAGE-INTEGRITY, and gives its transaction id", () => {
    const data = request();
    expect(keepaliveRequest(data, UFRAG, PASSWORD, false)?.transactionId).toEqual(data.subarray(8, 20));
  });

  it("takes the controlled server's keepalive on a PeerConnection we control (the publisher's), and leaves a claim to our role to werift", () => {
    const fromControlled = request([
      ["USERNAME", `${UFRAG}:srv`],
      ["ICE-CONTROLLED", 0x1122334455667788n],
      ["PRIORITY", 1853817087],
    ]);
    expect(keepaliveRequest(fromControlled, UFRAG, PASSWORD, true)).toBeDefined();
    expect(keepaliveRequest(fromControlled, UFRAG, PASSWORD, false), "both controlled").toBeUndefined();
    expect(keepaliveRequest(request(), UFRAG, PASSWORD, true), "both controlling").toBeUndefined();
  });

  it("leaves to werift what it does not answer as werift would", () => {
    const none = (data: Buffer, ufrag = UFRAG, password = PASSWORD) =>
      keepaliveRequest(data, ufrag, password, false);
    expect(none(request(), UFRAG, "another-password-0123456")).toBeUndefined();
    expect(none(request(), "zzzz")).toBeUndefined();
    // a ufrag that only starts like ours
    expect(none(request([["USERNAME", `${UFRAG}x:srv`]]))).toBeUndefined();
    expect(
      none(
        request([
          ["USERNAME", `${UFRAG}:srv`],
          ["USE-CANDIDATE", null],
        ]),
      ),
      "a nomination goes to werift's check list",
    ).toBeUndefined();
    expect(
      none(
        request([
          ["USERNAME", `${UFRAG}:srv`],
          ["ICE-CONTROLLED", 1n],
        ]),
      ),
      "a role conflict goes to werift",
    ).toBeUndefined();
    const unsigned = new Message(methods.BINDING, classes.REQUEST).setAttribute(
      "USERNAME",
      `${UFRAG}:srv`,
    ).bytes;
    expect(none(unsigned)).toBeUndefined();
    const response = new Message(methods.BINDING, classes.RESPONSE)
      .setAttribute("USERNAME", `${UFRAG}:srv`)
      .addMessageIntegrity(Buffer.from(PASSWORD)).bytes;
    expect(none(response)).toBeUndefined();
    const data = request();
    expect(none(data.subarray(0, data.length - 4)), "truncated").toBeUndefined();
    const tampered = Buffer.from(data);
    tampered[tampered.length - 30] = (tampered[tampered.length - 30] ?? 0) ^ 1;
    expect(none(tampered), "a changed signed byte").toBeUndefined();
    const rtp = Buffer.alloc(40);
    rtp[0] = 0x80;
    expect(none(rtp)).toBeUndefined();
  });
});

describe("bindingSuccess", () => {
  it("is the response werift would send: its parser checks the integrity with our password and the fingerprint, and reads the sender's address", () => {
    const req = request();
    const transactionId = req.subarray(8, 20);
    const response = bindingSuccess({ transactionId }, "127.0.0.1", 17882, PASSWORD);
    const parsed = parseMessage(response, Buffer.from(PASSWORD, "utf8"));
    expect(parsed).toBeDefined();
    expect(parsed?.messageMethod).toBe(methods.BINDING);
    expect(parsed?.messageClass).toBe(classes.RESPONSE);
    expect(parsed?.transactionId).toEqual(transactionId);
    expect(parsed?.getAttributeValue("XOR-MAPPED-ADDRESS")).toEqual(["127.0.0.1", 17882]);
    expect(parsed?.attributesKeys).toEqual(["XOR-MAPPED-ADDRESS", "MESSAGE-INTEGRITY", "FINGERPRINT"]);
    // werift's own response to the same request, byte for byte
    const werift = new Message(methods.BINDING, classes.RESPONSE, Buffer.from(transactionId))
      .setAttribute("XOR-MAPPED-ADDRESS", ["127.0.0.1", 17882])
      .addMessageIntegrity(Buffer.from(PASSWORD, "utf8"))
      .addFingerprint().bytes;
    expect(response).toEqual(werift);
    expect(bindingSuccess({ transactionId }, "10.200.3.254", 65535, PASSWORD)).toEqual(
      new Message(methods.BINDING, classes.RESPONSE, Buffer.from(transactionId))
        .setAttribute("XOR-MAPPED-ADDRESS", ["10.200.3.254", 65535])
        .addMessageIntegrity(Buffer.from(PASSWORD, "utf8"))
        .addFingerprint().bytes,
    );
  });

  it("fails werift's integrity check with another password", () => {
    const response = bindingSuccess({ transactionId: request().subarray(8, 20) }, "127.0.0.1", 1, PASSWORD);
    expect(parseMessage(response, Buffer.from("not-the-password", "utf8"))).toBeUndefined();
  });
});
