import type { TurnTlsTrust } from "./messages.js";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { TOOLS_BIN } from "@livekit-swarm/testbed";

const run = promisify(execFile);

/**
 * The LD_PRELOAD library (tools/ice-scope/ice-scope.c, built by scripts/setup) that keeps a native
 * worker's sockets on the scope's addresses: rtc-node's libwebrtc has no option for it (docs/network.md).
 */
export const ICE_SCOPE_LIBRARY = join(TOOLS_BIN, "libice-scope.so");

/** tools/ice-scope/ice-scope.c beside this module: a clone's, or the copy the published package carries. */
export function iceScopeSource(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const source = join(dir, "tools", "ice-scope", "ice-scope.c");
    if (existsSync(source)) return source;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * Builds `library` from the C source with cc on first use, as livekit-server is built on first use:
 * undefined once it is there, else why it is not (no source, no cc, cc failed), in one line.
 * `source` "" is none.
 */
export async function ensureIceScopeLibrary(
  library = ICE_SCOPE_LIBRARY,
  source = iceScopeSource(),
): Promise<string | undefined> {
  if (existsSync(library)) return undefined;
  if (source === undefined || source === "")
    return `${library} is missing and no tools/ice-scope/ice-scope.c is beside this install to build it from`;
  const tmp = `${library}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(library), { recursive: true });
    await run("cc", ["-shared", "-fPIC", "-O2", "-o", tmp, source, "-ldl", "-lpthread"]);
    renameSync(tmp, library);
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return `${library} is missing and there is no C compiler to build it from ${source} (apt-get install gcc, then run again)`;
    const message =
      err instanceof Error ? (err.message.split("\n")[1] ?? err.message.split("\n")[0] ?? "") : String(err);
    return `${library} is missing and cc could not build it from ${source} (${message.trim()})`;
  }
}

/** What the scope needs of a run's target (orchestrator's RunTarget has it). */
export interface MediaTarget {
  readonly url: string;
  /** Addresses the server's nodes advertise for media, when known (a testbed's nodes). */
  readonly mediaHosts?: readonly string[];
  /** The testbed's TURN/TLS listener, whose self-signed certificate browser participants trust. */
  readonly turnTls?: TurnTlsTrust;
}

/** How this host reaches one media address, from `ip route get` and `ip link`. */
export interface HostRoute {
  readonly host: string;
  readonly device: string;
  /** The source address the kernel picks for it (the route's prefsrc). */
  readonly source: string;
  /** this-host: a local address (loopback included); namespace: a veth into a network namespace. */
  readonly reach: "this-host" | "namespace" | "network";
}

/** Where a run's native workers may hold sockets, and why; `addresses` empty means anywhere. */
export interface IceScope {
  readonly addresses: readonly string[];
  readonly why: string;
}

interface IpRoute {
  readonly type?: string;
  readonly dev?: string;
  readonly prefsrc?: string;
}

interface IpLink {
  readonly link_netnsid?: number;
  readonly linkinfo?: { readonly info_kind?: string };
}

/**
 * One route from `ip -j route get HOST` (and, for a device that is not loopback, `ip -j -d link
 * show dev DEV`). A veth whose peer sits in another network namespace (link_netnsid) leads to a
 * namespace on this host: a testbed node's, never a network beyond it.
 */
export function parseRoute(host: string, routeJson: string, linkJson: string | undefined): HostRoute {
  const [route] = JSON.parse(routeJson) as IpRoute[];
  if (route?.dev === undefined || route.prefsrc === undefined)
    throw new Error(`ip route get ${host} named no device and source address`);
  const [link] = linkJson === undefined ? [] : (JSON.parse(linkJson) as IpLink[]);
  const reach =
    route.type === "local" || route.dev === "lo"
      ? "this-host"
      : link?.linkinfo?.info_kind === "veth" && link.link_netnsid !== undefined
        ? "namespace"
        : "network";
  return { host, device: route.dev, source: route.prefsrc, reach };
}

/**
 * Every media address on this host or in a namespace of it: the native workers' sockets stay on the
 * source addresses of those routes (first route first: the library binds an unbound datagram socket
 * to the first address of its family). One address that leaves through a real network: no
 * restriction, as any WebRTC client gathers on every interface and lets ICE find the path that
 * works (a multi-homed host or a VPN may reach the server by another interface than the route's).
 */
export function scopeOf(routes: readonly HostRoute[]): IceScope {
  if (routes.length === 0) return { addresses: [], why: "the server's address is not known" };
  const remote = routes.find((r) => r.reach === "network");
  if (remote !== undefined)
    return {
      addresses: [],
      why: `${remote.host} is reached through ${remote.device}, a network beyond this host`,
    };
  const addresses = [...new Set(routes.map((r) => r.source))];
  const kinds = [
    ...new Set(routes.map((r) => (r.reach === "this-host" ? "this host" : "a network namespace"))),
  ];
  return { addresses, why: `the server is on ${kinds.join(" and ")}` };
}

interface IpAddrLink {
  readonly link_netnsid?: number;
  readonly addr_info?: readonly { readonly local?: string; readonly scope?: string }[];
}

/**
 * The host ends of veths into network namespaces of this host (`ip -j -d addr show type veth`),
 * global addresses only: where a local server's nodes may sit when nobody said where they are.
 */
export function namespaceAddresses(addrJson: string): string[] {
  const links = JSON.parse(addrJson) as IpAddrLink[];
  return links
    .filter((l) => l.link_netnsid !== undefined)
    .flatMap((l) => (l.addr_info ?? []).filter((a) => a.scope === "global").map((a) => a.local ?? ""))
    .filter((a) => a !== "");
}

/** The hosts media may go to: the nodes' addresses when known (a testbed's), and the URL's host. */
export function mediaHosts(target: MediaTarget): string[] {
  const host = new URL(target.url.replace(/^ws/, "http")).hostname.replace(/^\[(.*)\]$/, "$1");
  return [...new Set([host, ...(target.mediaHosts ?? [])])];
}

async function routeTo(address: string): Promise<HostRoute> {
  const route = (await run("ip", ["-j", "route", "get", address])).stdout;
  const [parsed] = JSON.parse(route) as IpRoute[];
  const link =
    parsed?.dev === undefined || parsed.dev === "lo"
      ? undefined
      : (await run("ip", ["-j", "-d", "link", "show", "dev", parsed.dev])).stdout;
  return parseRoute(address, route, link);
}

/**
 * The scope of a run against `target`, from the kernel's routes to its media hosts. A route that
 * cannot be read, or a library that was not built, leaves the workers unrestricted and says why.
 */
export async function iceScopeFor(
  target: MediaTarget,
  library = ICE_SCOPE_LIBRARY,
  source = iceScopeSource(),
): Promise<IceScope> {
  let scope: IceScope;
  try {
    const addresses: string[] = [];
    for (const host of mediaHosts(target)) {
      if (isIP(host) !== 0) addresses.push(host);
      else addresses.push(...(await lookup(host, { all: true })).map((a) => a.address));
    }
    scope = scopeOf(await Promise.all(addresses.map((a) => routeTo(a))));
    if (scope.addresses.length > 0 && target.mediaHosts === undefined) {
      // a server on this machine that is not a known testbed may have nodes in namespaces its
      // URL's route does not show (a balancer on loopback): keep every namespace of this host
      // reachable, since 127.0.0.1 cannot send into a veth, and none of them leaves the machine
      const veths = (await run("ip", ["-j", "-d", "addr", "show", "type", "veth"])).stdout;
      const extra = namespaceAddresses(veths).filter((a) => !scope.addresses.includes(a));
      if (extra.length > 0)
        scope = {
          addresses: [...scope.addresses, ...extra],
          why: `${scope.why}; its nodes are not known, so this host's network namespaces too`,
        };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return {
        addresses: [],
        why: "`ip` (iproute2) is not installed, so the route to the server is unknown",
      };
    const message = err instanceof Error ? (err.message.split("\n")[0] ?? "") : String(err);
    return { addresses: [], why: `the route to the server could not be read (${message})` };
  }
  if (scope.addresses.length > 0 && /[\s:]/.test(library))
    // the dynamic loader splits LD_PRELOAD at spaces and colons
    return {
      addresses: [],
      why: `${scope.why}, but ${library} has a space or colon in its path: set LIVEKIT_SWARM_TOOLS to a plain one`,
    };
  const unbuilt = scope.addresses.length > 0 ? await ensureIceScopeLibrary(library, source) : undefined;
  if (unbuilt !== undefined) return { addresses: [], why: `${scope.why}, but ${unbuilt}` };
  return scope;
}

/** The environment a native worker starts with: the library preloaded, the scope it enforces. */
export function iceScopeEnv(
  scope: IceScope,
  env: NodeJS.ProcessEnv,
  library = ICE_SCOPE_LIBRARY,
): NodeJS.ProcessEnv {
  if (scope.addresses.length === 0) return env;
  const preload = [env.LD_PRELOAD, library].filter((p) => p !== undefined && p !== "").join(" ");
  return { ...env, LD_PRELOAD: preload, LKSWARM_ICE_SCOPE: scope.addresses.join(",") };
}

/** The run's one line about it: where native sockets stay, or why they are not kept anywhere. */
export function iceScopeLine(scope: IceScope): string {
  return scope.addresses.length > 0
    ? `native engine: ICE kept on ${scope.addresses.join(", ")} (${scope.why})`
    : `native engine: ICE on every interface (${scope.why})`;
}
