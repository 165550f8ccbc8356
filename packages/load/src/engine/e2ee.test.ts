import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { Room } from "@livekit/rtc-node";
import { CryptorStates, encryptionOptions, wrongKeyOf, type CryptorState } from "./e2ee.js";

/** The shape of rtc-node's FFI event for a cryptor state change (room_pb E2eeStateChanged). */
const stateEvent = (roomHandle: bigint, participantIdentity: string, state: number): unknown => ({
  message: {
    case: "roomEvent",
    value: { roomHandle, message: { case: "e2eeStateChanged", value: { participantIdentity, state } } },
  },
});

const roomWithHandle = (handle: bigint): Room => ({ ffiHandle: { handle } }) as unknown as Room;

describe("wrongKeyOf and encryptionOptions", () => {
  it("a wrong key differs from the room's key in every byte; the right one is passed as is", () => {
    const key = new Uint8Array([0, 1, 254, 255]);
    expect([...wrongKeyOf(key)]).toEqual([255, 254, 1, 0]);
    const e2ee = { failureTolerance: 10, ratchetWindowSize: 16 };
    expect(encryptionOptions(e2ee, key, false).keyProviderOptions).toEqual({
      sharedKey: key,
      failureTolerance: 10,
      ratchetWindowSize: 16,
    });
    expect([...(encryptionOptions(e2ee, key, true).keyProviderOptions.sharedKey ?? [])]).toEqual([
      255, 254, 1, 0,
    ]);
  });
});

describe("CryptorStates", () => {
  const global = globalThis as { _ffiClientInstance?: EventEmitter };
  afterEach(() => {
    delete global._ffiClientInstance;
  });

  it("hands each room its own cryptor states, by FFI room handle, and none after forget", () => {
    const ffi = new EventEmitter();
    global._ffiClientInstance = ffi;
    const states = new CryptorStates();
    const seen: Record<string, CryptorState[]> = { a: [], b: [] };
    const a = roomWithHandle(2n);
    expect(states.watch(a, (s) => seen.a?.push(s))).toBe(true);
    expect(states.watch(roomWithHandle(9n), (s) => seen.b?.push(s))).toBe(true);
    ffi.emit("ffi_event", stateEvent(9n, "pub", 3));
    ffi.emit("ffi_event", stateEvent(2n, "pub", 1));
    ffi.emit("ffi_event", stateEvent(5n, "pub", 3)); // a room nobody watches
    ffi.emit("ffi_event", { message: { case: "logs" } });
    states.forget(a);
    ffi.emit("ffi_event", stateEvent(2n, "pub", 4));
    expect(seen).toEqual({
      a: [{ from: "pub", state: "ok" }],
      b: [{ from: "pub", state: "decryption_failed" }],
    });
    states.close();
    expect(ffi.listenerCount("ffi_event")).toBe(0);
  });

  it("keeps the states of a room seen before it is watched (a wrong key fails before connect resolves)", () => {
    const ffi = new EventEmitter();
    global._ffiClientInstance = ffi;
    const states = new CryptorStates();
    expect(states.listen()).toBe(true);
    ffi.emit("ffi_event", stateEvent(15n, "pub", 3));
    const seen: CryptorState[] = [];
    expect(states.watch(roomWithHandle(15n), (s) => seen.push(s))).toBe(true);
    ffi.emit("ffi_event", stateEvent(15n, "pub-2", 4));
    expect(seen).toEqual([
      { from: "pub", state: "decryption_failed" },
      { from: "pub-2", state: "missing_key" },
    ]);
    states.close();
  });

  it("says so when rtc-node hides its FFI client or the room's handle", () => {
    const states = new CryptorStates();
    expect(states.watch(roomWithHandle(2n), () => undefined)).toBe(false);
    global._ffiClientInstance = new EventEmitter();
    expect(states.watch({} as unknown as Room, () => undefined)).toBe(false);
  });
});
