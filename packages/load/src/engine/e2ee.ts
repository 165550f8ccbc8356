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

/** States kept per room handle that nobody watches yet: a few per remote publisher are plenty. */
const EARLY_STATES = 64;

/**
 * Frame cryptor states per room, read off rtc-node's FFI event stream. rtc-node 1.1's Room turns
 * only INTERNAL_ERROR into a Room event and drops DECRYPTION_FAILED and MISSING_KEY, so this
 * listens where Room does: the process-wide FfiClient (`globalThis._ffiClientInstance`, made by the
 * first `room.connect`) and the room's private FFI handle. Both are rtc-node internals, pinned by the
 * E2EE end-to-end test (packages/cli/test/e2ee.e2e.test.ts): if an upgrade moves them, it fails.
 * A wrong key fails within the first frames, before `connect` resolves and the handle is readable:
 * states of rooms not watched yet are kept, and handed over when they are.
 */
export class CryptorStates {
  private readonly rooms = new Map<bigint, (state: CryptorState) => void>();
  private readonly early = new Map<bigint, CryptorState[]>();
  private source: FfiEventSource | undefined;
  private readonly listener = (event: unknown): void => {
    const room = (event as E2eeStateEvent).message;
    if (room?.case !== "roomEvent" || room.value?.message?.case !== "e2eeStateChanged") return;
    const handle = room.value.roomHandle;
    const { participantIdentity, state } = room.value.message.value ?? {};
    const name = state === undefined ? undefined : ENCRYPTION_STATES[state];
    if (handle === undefined || name === undefined || participantIdentity === undefined) return;
    const cryptor = { from: participantIdentity, state: name };
    const deliver = this.rooms.get(handle);
    if (deliver !== undefined) {
      deliver(cryptor);
      return;
    }
    const kept = this.early.get(handle) ?? [];
    if (kept.length < EARLY_STATES) kept.push(cryptor);
    this.early.set(handle, kept);
  };

  /** Starts listening, once rtc-node's FFI client exists (call it right after `room.connect` begins). */
  listen(): boolean {
    if (this.source !== undefined) return true;
    const source = (globalThis as { _ffiClientInstance?: FfiEventSource })._ffiClientInstance;
    if (source === undefined) return false;
    this.source = source;
    source.on("ffi_event", this.listener);
    return true;
  }

  /**
   * Reports `room`'s cryptor states to `deliver`, those seen since `listen` first, until `forget`;
   * false when rtc-node hides them.
   */
  watch(room: Room, deliver: (state: CryptorState) => void): boolean {
    const handle = handleOf(room);
    if (handle === undefined || !this.listen()) return false;
    this.rooms.set(handle, deliver);
    for (const state of this.early.get(handle) ?? []) deliver(state);
    this.early.delete(handle);
    return true;
  }

  forget(room: Room): void {
    const handle = handleOf(room);
    if (handle === undefined) return;
    this.rooms.delete(handle);
    this.early.delete(handle);
  }

  close(): void {
    this.source?.off("ffi_event", this.listener);
    this.source = undefined;
    this.rooms.clear();
    this.early.clear();
  }
}

function handleOf(room: Room): bigint | undefined {
  const handle = (room as unknown as { ffiHandle?: { handle?: unknown } }).ffiHandle?.handle;
  return typeof handle === "bigint" ? handle : undefined;
}
