import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import os from "node:os";
import { syncBuiltinESMExports } from "node:module";

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
