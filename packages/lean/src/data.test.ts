import { ChatMessage, DataPacket, UserPacket } from "@livekit/protocol";
import { describe, expect, it } from "vitest";
import { DATA_TOPIC, isUserPacket, userPacket } from "./data.js";

describe("userPacket and isUserPacket: a swarm's data packets as LiveKit carries them", () => {
  it("writes a user packet with the payload under the swarm's topic", () => {
    const payload = new TextEncoder().encode(JSON.stringify({ t: 1 }));
    const packet = DataPacket.fromBinary(userPacket(payload));
    if (packet.value.case !== "user") throw new Error(`a ${packet.value.case} packet, not a user packet`);
    const user = packet.value.value;
    expect(user.topic).toBe(DATA_TOPIC);
    expect(Buffer.from(user.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it("counts user packets, whoever sent them, and nothing else", () => {
    expect(isUserPacket(userPacket(new Uint8Array([1, 2, 3]), "other"))).toBe(true);
    // as the server forwards one: the sender named
    const forwarded = new DataPacket({
      participantIdentity: "pub",
      value: { case: "user", value: new UserPacket({ payload: new Uint8Array([9]) }) },
    }).toBinary();
    expect(isUserPacket(Buffer.from(forwarded))).toBe(true);
    const chat = new DataPacket({
      value: { case: "chatMessage", value: new ChatMessage({ message: "hi" }) },
    }).toBinary();
    expect(isUserPacket(chat)).toBe(false);
    expect(isUserPacket("a text message")).toBe(false);
    expect(isUserPacket(new Uint8Array([0xff, 0xff, 0xff]))).toBe(false);
    expect(isUserPacket(new Uint8Array([]))).toBe(false);
  });
});
