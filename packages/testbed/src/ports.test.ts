import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BAD_PORTS, PortReservations, pickFreePort, pickableRange } from "./ports.js";

describe("PortReservations: which process picked a port not yet bound", () => {
  const children: ReturnType<typeof spawn>[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A process that lives until the test ends: the picker of a port in another process. */
  function otherProcess(): number {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
    children.push(child);
    if (child.pid === undefined) throw new Error("the other process did not start");
    return child.pid;
  }

  function dir(): string {
    const d = mkdtempSync(join(tmpdir(), "ports-test-"));
    dirs.push(d);
    return d;
  }

  it("a port is reserved once: a second reservation of it, here or in another instance, is refused", () => {
    const d = dir();
    const a = new PortReservations(d);
    expect(a.reserve(20001)).toBe(true);
    expect(readFileSync(join(d, "20001"), "utf8").trim()).toBe(String(process.pid));
    // another instance in this process (a worker thread of the same pid) sees a live picker
    expect(new PortReservations(d).reserve(20001)).toBe(false);
    expect(a.reserve(20002)).toBe(true);
  });

  it("another live process's port is refused; a dead one's, or one past its lease, is taken", async () => {
    const d = dir();
    const live = otherProcess();
    writeFileSync(join(d, "20010"), `${live}\n`);
    const r = new PortReservations(d, 60_000);
    expect(r.reserve(20010)).toBe(false);

    // a picker that has exited: its port is free to take
    const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => dead.once("exit", resolve));
    writeFileSync(join(d, "20011"), `${dead.pid}\n`);
    expect(r.reserve(20011)).toBe(true);
    expect(readFileSync(join(d, "20011"), "utf8").trim()).toBe(String(process.pid));

    // a live picker's lease ran out (its server has long bound the port, or never will)
    writeFileSync(join(d, "20012"), `${live}\n`);
    const old = (Date.now() - 61_000) / 1000;
    utimesSync(join(d, "20012"), old, old);
    expect(r.reserve(20012)).toBe(true);

    // garbage in the file names no live process
    writeFileSync(join(d, "20013"), "not a pid\n");
    expect(r.reserve(20013)).toBe(true);
  });

  it("release gives back only what this instance reserved; releaseAll gives back all of it", () => {
    const d = dir();
    const a = new PortReservations(d);
    const b = new PortReservations(d);
    expect(a.reserve(20020)).toBe(true);
    expect(a.reserve(20021)).toBe(true);
    b.release(20020); // not b's
    expect(readdirSync(d).sort()).toEqual(["20020", "20021"]);
    a.release(20020);
    expect(readdirSync(d)).toEqual(["20021"]);
    expect(b.reserve(20020)).toBe(true);
    a.releaseAll();
    expect(readdirSync(d)).toEqual(["20020"]);
  });

  it("a folder it cannot write leaves the choice to the free-port check", () => {
    const d = dir();
    const file = join(d, "not-a-folder");
    writeFileSync(file, "");
    expect(new PortReservations(file).reserve(20030)).toBe(true);
  });
});

describe("pickFreePort: never a port fetch refuses", () => {
  it("each of BAD_PORTS is one Node's fetch refuses as a bad port", async () => {
    for (const port of BAD_PORTS) {
      const err = await fetch(`http://127.0.0.1:${port}/`).then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: Error },
      );
      expect(err?.cause?.message, String(port)).toBe("bad port");
    }
  });

  it("a random draw of 10080 is drawn again", async () => {
    const [from, to] = pickableRange();
    if (10080 < from || 10080 > to) return;
    const draws = [10080, 10081, 10082, 10083].map((p) => (p - from + 0.5) / (to - from + 1));
    const random = vi.spyOn(Math, "random").mockImplementation(() => draws.shift() ?? 0.5);
    try {
      expect(await pickFreePort()).not.toBe(10080);
    } finally {
      random.mockRestore();
    }
  });
});
