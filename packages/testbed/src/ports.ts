import { mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The kernel's ephemeral port range. Ports picked inside it can be taken a moment later by any
 * client's outgoing socket (every rtc-node participant opens several), so we pick outside it.
 */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux: assume the IANA dynamic range
  }
  return [49152, 65535];
}

/** Where testbed ports come from: the widest stretch of 10000-65535 outside the ephemeral range. */
export function pickableRange(): [number, number] {
  const [low, high] = ephemeralRange();
  const below: [number, number] = [10000, Math.min(low - 1, 65535)];
  const above: [number, number] = [Math.max(high + 1, 10000), 65535];
  return below[1] - below[0] >= above[1] - above[0] ? below : above;
}

/**
 * Ports fetch refuses to connect to (the Fetch standard's "bad ports", which Chromium and Node's
 * fetch both enforce), of those in the pickable range: a node given 10080 started and served, but
 * every health check failed with "bad port" until the testbed gave up after 30 s (canary.e2e in a
 * suite run, 2026-11-29), and a browser participant could not have reached it either.
 */
export const BAD_PORTS: ReadonlySet<number> = new Set([10080]);

/** Ports this process picked: free now, but maybe not yet bound by the server they were picked for. */
const handedOut = new Set<number>();

/**
 * How long a port another process picked stays its own: time enough for the server it was picked
 * for to bind it (a test may pick ports for Prometheus to scrape a minute before the runs that
 * serve them start).
 */
const LEASE_MS = 10 * 60_000;

/**
 * Word, between the processes picking ports at once, of which port each has picked and not yet
 * bound: one file per port, named by it and holding the picker's pid. Without it two processes could
 * both find a port free and hand it to two servers (CI: a shard's --metrics-port, picked at the
 * start of a test file, taken by a test beside it before the shard started, and the shard exited 1).
 * It lives under tmpdir() (a test run's own folder in our suite).
 */
export class PortReservations {
  private readonly mine = new Set<string>();
  /** The folder exists (made once, not on every pick). */
  private made = false;

  constructor(
    private readonly dir: string,
    private readonly leaseMs = LEASE_MS,
  ) {}

  /**
   * Whether `port` is now ours: no other live process holds it within its lease. A folder we cannot
   * write leaves the choice to the free-port check alone (true).
   */
  reserve(port: number): boolean {
    const file = join(this.dir, String(port));
    try {
      if (!this.made) {
        mkdirSync(this.dir, { recursive: true });
        this.made = true;
      }
      if (this.create(file)) return true;
    } catch {
      return true;
    }
    try {
      const pid = Number(readFileSync(file, "utf8").trim());
      if (Date.now() - statSync(file).mtimeMs < this.leaseMs && processExists(pid)) return false;
      // its picker is gone or its lease ran out: take it
      unlinkSync(file);
      return this.create(file);
    } catch {
      return false;
    }
  }

  /** Gives back a port we reserved (found in use, or at exit). */
  release(port: number): void {
    const file = join(this.dir, String(port));
    if (!this.mine.delete(file)) return;
    try {
      if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // already gone
    }
  }

  /** Gives back every port this instance reserved. */
  releaseAll(): void {
    for (const file of [...this.mine]) this.release(Number(file.slice(this.dir.length + 1)));
  }

  private create(file: string): boolean {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
    this.mine.add(file);
    return true;
  }
}

function processExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

let reservations: PortReservations | undefined;

function processReservations(): PortReservations {
  if (reservations === undefined) {
    const made = new PortReservations(join(tmpdir(), "livekit-swarm-ports"));
    reservations = made;
    process.once("exit", () => {
      made.releaseAll();
    });
  }
  return reservations;
}

/**
 * A port free for both TCP and UDP on every interface (livekit-server's rtc.tcp_port binds all of
 * them whatever bind_addresses says), chosen at random outside the ephemeral range and never one
 * fetch refuses (BAD_PORTS), and reserved against the other processes picking ports
 * (PortReservations).
 */
export async function pickFreePort(): Promise<number> {
  const [from, to] = pickableRange();
  const reserved = processReservations();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (BAD_PORTS.has(port) || handedOut.has(port) || !reserved.reserve(port)) continue;
    if ((await isTcpPortFree(port, "0.0.0.0")) && (await isUdpPortFree(port, "0.0.0.0"))) {
      handedOut.add(port);
      return port;
    }
    reserved.release(port);
  }
  throw new Error(`no free port found in ${from}-${to} after 200 attempts`);
}

export async function isTcpPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

function isUdpPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.close(() => {
        resolve(true);
      });
    });
  });
}
