import { RoomServiceClient } from "livekit-server-sdk";
import { KnownError, redactSecrets, messageOf } from "@livekit-swarm/schema";

/** The LiveKit server named by --url cannot be used: unreachable, or it rejects the keys. */
export class TargetError extends KnownError<"unreachable" | "unauthorized"> {
  override readonly name = "TargetError";
}

/** Fails fast, with the fix, on an unreachable server or rejected keys, before any worker starts. */
export async function preflight(
  url: string,
  apiKey: string,
  apiSecret: string,
  fix: { readonly url: string; readonly keys: string } = {
    url: "pass --url (or unset it to use an embedded local LiveKit)",
    keys: "check --api-key/--api-secret or LIVEKIT_API_KEY/LIVEKIT_API_SECRET",
  },
): Promise<void> {
  const http = url.replace(/^ws/, "http");
  try {
    await new RoomServiceClient(http, apiKey, apiSecret).listRooms();
  } catch (err) {
    // LiveKit's rejection quotes the token it refused: never echoed
    const message = redactSecrets(messageOf(err), apiSecret);
    const cause = redactSecrets(
      err instanceof Error && err.cause instanceof Error ? err.cause.message : "",
      apiSecret,
    );
    if (/401|unauthori|invalid|signature/i.test(message)) {
      throw new TargetError(
        "unauthorized",
        `${url} rejected the API key ${apiKey} (${message}): ${fix.keys}`,
      );
    }
    if (
      /fetch failed|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|timeout|socket/i.test(`${message} ${cause}`)
    ) {
      throw new TargetError(
        "unreachable",
        `cannot reach ${url}: ${cause || message} - is the server running? ${fix.url}`,
      );
    }
    throw new TargetError(
      "unreachable",
      `${url} answered RoomService.ListRooms with an error: ${message} - is this a LiveKit server?`,
    );
  }
}
