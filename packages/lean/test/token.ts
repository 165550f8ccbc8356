import type { Testbed } from "@livekit-swarm/testbed";
import { AccessToken } from "livekit-server-sdk";

/** A join token for the testbed: publish as asked, always subscribe. */
export async function token(tb: Testbed, room: string, identity: string, publish: boolean): Promise<string> {
  const at = new AccessToken(tb.apiKey, tb.apiSecret, { identity, ttl: "1h" });
  at.addGrant({ roomJoin: true, room, canPublish: publish, canSubscribe: true });
  return at.toJwt();
}
