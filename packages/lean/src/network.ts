import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import os from "node:os";
import { syncBuiltinESMExports } from "node:module";
import { Connection } from "werift";

/**
 * The local IPv4 address this host uses to reach `host`: the kernel's own route choice, read from a
 * connected (never written) UDP socket. For a loopback target that is the loopback address.
 */
export async function sourceAddressFor(host: string): Promise<string> {
  const target = isIP(host) === 4 ? host : (await lookup(host, { family: 4 })).address;
  const socket = createSocket("udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(9, target, () => {
        resolve();
      });
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

const allowed = new Set<string>();
let original: typeof os.networkInterfaces | undefined;

/**
 * Makes werift gather host candidates on `address` only. werift lists `os.networkInterfaces()`,
 * skips interfaces marked internal (so loopback is never offered) and offers every other one
 * (here: eth0 and other engineers' veths, none of which reach a loopback server). There is no
 * option to restrict that list, so this narrows what the process's `os.networkInterfaces` returns
 * to the allowed addresses, marked non-internal, and re-syncs the ESM view that werift imports.
 * Process-wide by necessity: it is a one-way narrowing, widened only by further calls.
 */
export function restrictHostCandidates(address: string): void {
  if (allowed.has(address)) return;
  allowed.add(address);
  const real = original ?? os.networkInterfaces;
  original = real;
  const narrowed = (): NodeJS.Dict<os.NetworkInterfaceInfo[]> => {
    const out: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {};
    for (const [name, infos] of Object.entries(real())) {
      const kept = (infos ?? [])
        .filter((info) => allowed.has(info.address))
        .map((info) => ({ ...info, internal: false }));
      // werift bans names starting with veth/tun/tap; a loopback-only list is named "lo" and passes
      if (kept.length > 0) out[name] = kept;
    }
    return out;
  };
  // os is a CommonJS builtin: assigning on its module object and re-syncing is the supported way
  // to change what `import * as os` sees (node:module syncBuiltinESMExports)
  os.networkInterfaces = narrowed;
  syncBuiltinESMExports();
}

let stunKept = false;

/**
 * Makes werift ask no STUN server it was not given. lean gives werift none (`iceServers: []`), yet
 * werift's ICE connection falls back to stun.l.google.com:19302 when no STUN server is configured
 * and queries it for every PeerConnection it gathers for (seen here as one failed DNS lookup per
 * PeerConnection in werift's ICE log; where DNS and the internet answer, one binding request to
 * Google per PeerConnection, and a server-reflexive candidate sent to LiveKit). A load generator
 * never asks the internet: a connection with no STUN server in its options gathers host candidates
 * only. Process-wide, on werift's prototype; once.
 */
export function noFallbackStun(): void {
  if (stunKept) return;
  const proto = Connection.prototype as unknown as {
    getCandidatePromises?: (this: StunOwner, ...args: unknown[]) => unknown;
  };
  const gather = proto.getCandidatePromises;
  if (typeof gather !== "function")
    throw new Error(
      "werift's ICE Connection has no getCandidatePromises where lean turns its fallback STUN server off: werift changed; check packages/lean's pinned werift version",
    );
  stunKept = true;
  proto.getCandidatePromises = function (this: StunOwner, ...args: unknown[]) {
    if (this.options.stunServer === undefined) this.stunServer = undefined;
    return gather.apply(this, args);
  };
}

/** What of a werift ICE connection noFallbackStun reads and changes. */
interface StunOwner {
  readonly options: { readonly stunServer?: unknown };
  stunServer?: unknown;
}
