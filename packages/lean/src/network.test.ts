import os from "node:os";
import { describe, expect, it } from "vitest";
import { restrictHostCandidates, sourceAddressFor } from "./network.js";

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
