import { createSocket } from "node:dgram";
import dns from "node:dns";
import os from "node:os";
import { describe, expect, it, vi } from "vitest";
import { Connection } from "werift";
import { noFallbackStun, restrictHostCandidates, sourceAddressFor } from "./network.js";

describe("sourceAddressFor", () => {
  it("reaches a loopback server from the loopback address", async () => {
    expect(await sourceAddressFor("127.0.0.1")).toBe("127.0.0.1");
    expect(await sourceAddressFor("localhost")).toMatch(/^127\./);
  });
});

describe("restrictHostCandidates", () => {
  it("narrows os.networkInterfaces to the allowed address, marked non-internal so werift offers it", async () => {
    restrictHostCandidates("127.0.0.1");
    const listed = Object.values(os.networkInterfaces()).flatMap((infos) => infos ?? []);
    expect(listed.map((i) => [i.address, i.internal])).toEqual([["127.0.0.1", false]]);
    // the ESM namespace werift imports sees the same narrowed function
    const ns = await import("node:os");
    expect(Object.values(ns.networkInterfaces()).flat().length).toBe(1);
  });
});

describe("noFallbackStun", () => {
  it("werift asks stun.l.google.com when given no STUN server; after noFallbackStun it asks none, and still asks one it is given", async () => {
    const options = { useIpv6: false, interfaceAddresses: { udp4: "127.0.0.1" } };
    // werift resolves a STUN server's name with dns.promises.lookup before its request: no answer
    // here, whatever this machine's DNS would say
    const lookup = vi.spyOn(dns.promises, "lookup").mockRejectedValue(new Error("no DNS in this test"));
    try {
      // werift's own default, before the change: what noFallbackStun is for
      const werift = new Connection(true, options);
      await werift.gatherCandidates();
      expect(lookup.mock.calls.map((call) => call[0])).toContain("stun.l.google.com");
      await werift.close();

      noFallbackStun();
      lookup.mockClear();
      const unconfigured = new Connection(true, options);
      await unconfigured.gatherCandidates();
      expect(unconfigured.localCandidates.map((c) => c.type)).toEqual(["host"]);
      expect(lookup).not.toHaveBeenCalled();
      await unconfigured.close();
    } finally {
      lookup.mockRestore();
    }

    // a STUN server it is given is asked (a local socket stands for one; it never answers)
    const server = createSocket("udp4");
    await new Promise<void>((resolve) => server.bind(0, "127.0.0.1", resolve));
    const asked = new Promise<void>((resolve) =>
      server.once("message", () => {
        resolve();
      }),
    );
    const configured = new Connection(true, { ...options, stunServer: ["127.0.0.1", server.address().port] });
    void configured.gatherCandidates();
    await asked;
    await configured.close();
    server.close();
  });
});
