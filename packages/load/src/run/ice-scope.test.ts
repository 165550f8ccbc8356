import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ensureIceScopeLibrary,
  iceScopeEnv,
  iceScopeFor,
  iceScopeSource,
  iceScopeLine,
  mediaHosts,
  namespaceAddresses,
  parseRoute,
  scopeOf,
  type HostRoute,
} from "./ice-scope.js";

// `ip -j` output as this host printed it (route get 127.0.0.1, 8.8.8.8, a testbed node's 10.201.x.2)
const LOOPBACK = `[{"type":"local","dst":"127.0.0.1","dev":"lo","prefsrc":"127.0.0.1","flags":[],"uid":0,"cache":["local"]}]`;
const OWN_ADDRESS = `[{"type":"local","dst":"192.0.2.2","dev":"lo","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":["local"]}]`;
const INTERNET = `[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"eth0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]`;
const ETH0 = `[{"ifindex":2,"ifname":"eth0","flags":["UP"],"link_type":"ether"}]`;
const NODE = `[{"dst":"10.201.7.2","dev":"lksabh0","prefsrc":"10.201.7.1","flags":[],"uid":0,"cache":[]}]`;
const VETH_TO_NS = `[{"ifname":"lksabh0","link_netnsid":0,"link_index":2,"linkinfo":{"info_kind":"veth"}}]`;
// a veth whose peer is in this namespace (no link_netnsid): a local bridge, not a namespace of ours
const VETH_HERE = `[{"ifname":"veth1","link_index":9,"linkinfo":{"info_kind":"veth"}}]`;

const route = (host: string, source: string, reach: HostRoute["reach"]): HostRoute => ({
  host,
  device: "d",
  source,
  reach,
});

describe("parseRoute", () => {
  it("a local address is this host, whatever its device", () => {
    expect(parseRoute("127.0.0.1", LOOPBACK, undefined)).toEqual({
      host: "127.0.0.1",
      device: "lo",
      source: "127.0.0.1",
      reach: "this-host",
    });
    expect(parseRoute("192.0.2.2", OWN_ADDRESS, undefined).reach).toBe("this-host");
  });

  it("a veth into another namespace is a namespace; anything else is a network", () => {
    expect(parseRoute("10.201.7.2", NODE, VETH_TO_NS)).toMatchObject({
      source: "10.201.7.1",
      reach: "namespace",
    });
    expect(parseRoute("10.201.7.2", NODE, VETH_HERE).reach).toBe("network");
    expect(parseRoute("8.8.8.8", INTERNET, ETH0)).toMatchObject({ device: "eth0", reach: "network" });
  });

  it("refuses a route without device or source", () => {
    expect(() => parseRoute("x", "[]", undefined)).toThrow(/named no device/);
    expect(() => parseRoute("x", `[{"dev":"lo"}]`, undefined)).toThrow(/named no device/);
  });
});

describe("scopeOf", () => {
  it("local and namespaced hosts: their sources, first first, once each", () => {
    const scope = scopeOf([
      route("127.0.0.1", "127.0.0.1", "this-host"),
      route("10.201.7.2", "10.201.7.1", "namespace"),
      route("10.201.7.6", "10.201.7.5", "namespace"),
      route("::1", "::1", "this-host"),
      route("127.0.0.1", "127.0.0.1", "this-host"),
    ]);
    expect(scope.addresses).toEqual(["127.0.0.1", "10.201.7.1", "10.201.7.5", "::1"]);
    expect(scope.why).toBe("the server is on this host and a network namespace");
  });

  it("one host beyond this machine: no restriction, naming it and its device", () => {
    const scope = scopeOf([
      route("127.0.0.1", "127.0.0.1", "this-host"),
      { ...route("203.0.113.9", "192.0.2.2", "network"), device: "eth0" },
    ]);
    expect(scope).toEqual({
      addresses: [],
      why: "203.0.113.9 is reached through eth0, a network beyond this host",
    });
  });

  it("no route at all: nothing to keep to (never an empty restriction)", () => {
    expect(scopeOf([])).toEqual({ addresses: [], why: "the server's address is not known" });
  });
});

describe("namespaceAddresses", () => {
  it("global addresses of veths whose peer is in another namespace, nothing else", () => {
    // `ip -j -d addr show type veth`: a testbed node's host end, a same-namespace veth, a link-local
    const json = JSON.stringify([
      {
        ifname: "lksabh0",
        link_netnsid: 0,
        addr_info: [
          { family: "inet", local: "10.201.7.1", scope: "global" },
          { family: "inet6", local: "fe80::1", scope: "link" },
        ],
      },
      { ifname: "veth1", addr_info: [{ family: "inet", local: "172.18.0.1", scope: "global" }] },
      {
        ifname: "lksabh1",
        link_netnsid: 1,
        addr_info: [{ family: "inet6", local: "fd01::1", scope: "global" }],
      },
    ]);
    expect(namespaceAddresses(json)).toEqual(["10.201.7.1", "fd01::1"]);
    expect(namespaceAddresses("[]")).toEqual([]);
  });
});

describe("mediaHosts", () => {
  it("the URL's host first, then the nodes, once each; IPv6 brackets dropped", () => {
    expect(mediaHosts({ url: "ws://127.0.0.1:7880", mediaHosts: ["10.201.7.2", "127.0.0.1"] })).toEqual([
      "127.0.0.1",
      "10.201.7.2",
    ]);
    expect(mediaHosts({ url: "wss://[::1]:7880/" })).toEqual(["::1"]);
    expect(mediaHosts({ url: "wss://example.livekit.cloud" })).toEqual(["example.livekit.cloud"]);
  });
});

describe("iceScopeEnv", () => {
  const scope = { addresses: ["127.0.0.1", "::1"], why: "w" };
  it("preloads the library after any the user preloads, and names the scope", () => {
    expect(iceScopeEnv(scope, { A: "1" }, "/t/libice-scope.so")).toEqual({
      A: "1",
      LD_PRELOAD: "/t/libice-scope.so",
      LKSWARM_ICE_SCOPE: "127.0.0.1,::1",
    });
    expect(iceScopeEnv(scope, { LD_PRELOAD: "/x/libjemalloc.so" }, "/t/l.so").LD_PRELOAD).toBe(
      "/x/libjemalloc.so /t/l.so",
    );
  });

  it("an unrestricted scope leaves the environment as it is", () => {
    const env = { LD_PRELOAD: "" };
    expect(iceScopeEnv({ addresses: [], why: "w" }, env, "/t/l.so")).toBe(env);
  });
});

describe("iceScopeFor", () => {
  it("a missing library is built from the C source with cc on first use, and used", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ice-scope-"));
    try {
      const library = join(dir, "bin", "libice-scope.so");
      const source = iceScopeSource();
      expect(source, "tools/ice-scope/ice-scope.c above this module").toMatch(
        /tools\/ice-scope\/ice-scope\.c$/,
      );
      const hasCc = (await ensureIceScopeLibrary(join(dir, "probe.so"), "/nonexistent.c")) !== undefined;
      expect(hasCc).toBe(true); // a missing source is said
      // the nodes named, so this host's network namespaces (another test's testbed) stay out of it
      const scope = await iceScopeFor({ url: "ws://127.0.0.1:1", mediaHosts: [] }, library, source);
      if (existsSync(library)) expect(scope.addresses).toEqual(["127.0.0.1"]);
      else expect(scope.why).toMatch(/no C compiler|cc could not build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a library that cannot be built leaves the workers unrestricted and says why in one line", async () => {
    const missing = await iceScopeFor(
      { url: "ws://127.0.0.1:1" },
      "/nonexistent/libice-scope.so",
      "/nowhere/ice-scope.c",
    );
    expect(missing.addresses).toEqual([]);
    expect(missing.why).toMatch(
      /\/nonexistent\/libice-scope\.so is missing and cc could not build it from \/nowhere\/ice-scope\.c \(/,
    );
    const nothing = await iceScopeFor({ url: "ws://127.0.0.1:1" }, "/nonexistent/libice-scope.so", "");
    expect(nothing.why).toMatch(/is missing and no tools\/ice-scope\/ice-scope\.c is beside this install/);
    const spaced = await iceScopeFor({ url: "ws://127.0.0.1:1" }, "/my tools/libice-scope.so");
    expect(spaced.why).toMatch(/space or colon/);
  });

  it("a name that does not resolve is said, not thrown", async () => {
    const scope = await iceScopeFor({ url: "ws://no-such-host.invalid:7880" }, "/nonexistent");
    expect(scope.addresses).toEqual([]);
    expect(scope.why).toMatch(/^the route to the server could not be read \(.*no-such-host\.invalid/);
  });

  it("without `ip` on the PATH the run is unrestricted and says what is missing", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect((await iceScopeFor({ url: "ws://127.0.0.1:1" }, "/nonexistent")).why).toBe(
        "`ip` (iproute2) is not installed, so the route to the server is unknown",
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it("the line says where ICE stays, or why it does not", () => {
    expect(iceScopeLine({ addresses: ["127.0.0.1"], why: "the server is on this host" })).toBe(
      "native engine: ICE kept on 127.0.0.1 (the server is on this host)",
    );
    expect(iceScopeLine({ addresses: [], why: "x is reached through eth0" })).toBe(
      "native engine: ICE on every interface (x is reached through eth0)",
    );
  });
});
