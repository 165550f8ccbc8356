import type { E2EEOptions, Room } from "@livekit/rtc-node";
import type { MediaPlan } from "../run/messages.js";

/** The size of a key made for a run: 256 random bits. */
export const E2EE_KEY_BYTES = 32;

/** A frame cryptor's state as rtc-node's FFI reports it (EncryptionState), snake_case. */
export const ENCRYPTION_STATES = [
  "new",
  "ok",
  "encryption_failed",
  "decryption_failed",
  "missing_key",
  "key_ratcheted",
  "internal_error",
] as const;
export type EncryptionStateName = (typeof ENCRYPTION_STATES)[number];

/** The states that mean a subscriber cannot read what a publisher sends. */
export function cannotDecrypt(state: EncryptionStateName): boolean {
  return state === "decryption_failed" || state === "missing_key";
}

/**
 * The key a wrong-key subscriber holds: every byte of the room's key inverted, so it differs in
 * every bit and is derived, not stored.
 */
export function wrongKeyOf(key: Uint8Array): Uint8Array {
  return key.map((b) => b ^ 0xff);
}

/** rtc-node's connect options for an E2EE participant: the shared key and the run's key provider options. */
export function encryptionOptions(
  e2ee: NonNullable<MediaPlan["e2ee"]>,
  key: Uint8Array,
  wrongKey: boolean,
): E2EEOptions {
  return {
    keyProviderOptions: {
      sharedKey: wrongKey ? wrongKeyOf(key) : key,
      failureTolerance: e2ee.failureTolerance,
      ratchetWindowSize: e2ee.ratchetWindowSize,
    },
  };
}

/** One frame cryptor state change: whose frames (`from`, a remote identity or our own) and the state. */
export interface CryptorState {
  readonly from: string;
  readonly state: EncryptionStateName;
}

interface FfiEventSource {
  on(event: "ffi_event", listener: (event: unknown) => void): void;
  off(event: "ffi_event", listener: (event: unknown) => void): void;
}

interface E2eeStateEvent {
  readonly message?: {
    readonly case?: string;
    readonly value?: {
      readonly roomHandle?: bigint;
      readonly message?: {
        readonly case?: string;
        readonly value?: { readonly participantIdentity?: string; readonly state?: number };
      };
    };
  };
}

/**
 * Frame cryptor states per room, read off rtc-node's FFI event stream. rtc-node 1.1's Room turns
 * only INTERNAL_ERROR into a Room event and drops DECRYPTION_FAILED and MISSING_KEY, so this
 * listens where Room does: the process-wide FfiClient (`globalThis._ffiClientInstance`, made with
 * the first Room) and the room's private FFI handle. Both are rtc-node internals, pinned by the
 * E2EE end-to-end test (packages/cli/test/e2ee.e2e.test.ts): if an upgrade moves them, it fails.
 */
export class CryptorStates {
  private readonly rooms = new Map<bigint, (state: CryptorState) => void>();
  private source: FfiEventSource | undefined;
  private readonly listener = (event: unknown): void => {
    const room = (event as E2eeStateEvent).message;
    if (room?.case !== "roomEvent" || room.value?.message?.case !== "e2eeStateChanged") return;
    const handle = room.value.roomHandle;
    const { participantIdentity, state } = room.value.message.value ?? {};
    const name = state === undefined ? undefined : ENCRYPTION_STATES[state];
    const deliver = handle === undefined ? undefined : this.rooms.get(handle);
    if (deliver !== undefined && name !== undefined && participantIdentity !== undefined)
      deliver({ from: participantIdentity, state: name });
  };

  /** Reports `room`'s cryptor states to `deliver` until `forget`; false when rtc-node hides them. */
  watch(room: Room, deliver: (state: CryptorState) => void): boolean {
    const handle = (room as unknown as { ffiHandle?: { handle?: unknown } }).ffiHandle?.handle;
    const source = (globalThis as { _ffiClientInstance?: FfiEventSource })._ffiClientInstance;
    if (typeof handle !== "bigint" || source === undefined) return false;
    if (this.source === undefined) {
      this.source = source;
      source.on("ffi_event", this.listener);
    }
    this.rooms.set(handle, deliver);
    return true;
  }

  forget(room: Room): void {
    const handle = (room as unknown as { ffiHandle?: { handle?: unknown } }).ffiHandle?.handle;
    if (typeof handle === "bigint") this.rooms.delete(handle);
  }

  close(): void {
    this.source?.off("ffi_event", this.listener);
    this.source = undefined;
    this.rooms.clear();
  }
}
