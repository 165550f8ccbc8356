#!/usr/bin/env node
/**
 * The floor under a lean worker's packet work: what Node's dgram alone costs to move a workload's
 * datagrams, with nothing else done (no SRTP, no RTP parsing, no WebRTC stack). `receivers` sockets
 * each get `rate` datagrams a second of `size` bytes from a stand-in server (a child process, whose
 * CPU is not counted), and `senders` sockets each send `rate` a second to it on one 20 ms clock, as
 * lean's pacer does. Prints this process's CPU over the window (user+sys, all threads): an engine
 * that moves the same datagrams through Node's dgram cannot cost less (docs/engine-costs.md).
 *
 *   node packages/bench/dist/dgram-floor.js --receivers 16 --senders 4 --participants 20   # 4 rooms of 360p 1+4
 */
import { fork } from "node:child_process";
import dgram from "node:dgram";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { messageOf } from "@livekit-swarm/schema";

/** lean's pacer period. */
const TICK_MS = 20;
const HOST = "127.0.0.1";

export interface FloorOptions {
  readonly receivers: number;
  readonly senders: number;
  /** Datagrams a second per socket (46: 441 kb/s in 1,200-byte packets, lean's 360p loop). */
  readonly rate: number;
  readonly size: number;
  readonly warmupS: number;
  readonly seconds: number;
  /** Whom the workload stands for: the figure per participant-minute is over them. */
  readonly participants: number;
}

/**
 * Datagrams due this tick for a socket that sends `rate` a second, and the credit carried over: a
 * rate that is not a whole number per tick is kept on average, never in bursts. Sums of 0.92 drift
 * below the whole number they make (50 of them add to 45.99999…), so a hair under one counts as one.
 */
export function dueThisTick(credit: number, rate: number, tickMs = TICK_MS): { due: number; credit: number } {
  const owed = credit + (rate * tickMs) / 1000;
  const due = Math.floor(owed + 1e-9);
  return { due, credit: owed - due };
}

export function floorOptions(argv: readonly string[]): FloorOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      receivers: { type: "string", default: "16" },
      senders: { type: "string", default: "4" },
      rate: { type: "string", default: "46" },
      size: { type: "string", default: "1200" },
      warmup: { type: "string", default: "5" },
      seconds: { type: "string", default: "30" },
      participants: { type: "string" },
    },
  });
  const number = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new RangeError(`dgram-floor: --${name} ${text}: expected a number from ${min} to ${max}`);
    return n;
  };
  const receivers = number("receivers", values.receivers, 0, 1000);
  const senders = number("senders", values.senders, 0, 1000);
  return {
    receivers,
    senders,
    rate: number("rate", values.rate, 1, 10_000),
    size: number("size", values.size, 1, 65_000),
    warmupS: number("warmup", values.warmup, 0, 600),
    seconds: number("seconds", values.seconds, 1, 3600),
    participants: number("participants", values.participants ?? String(receivers + senders), 1, 100_000),
  };
}

/** Sends `size`-byte datagrams at `rate` a second to each of `ports` until `stop`. */
function pace(socket: dgram.Socket, ports: readonly number[], rate: number, size: number): () => void {
  const payload = Buffer.alloc(size, 0x5a);
  const credits = ports.map(() => 0);
  const timer = setInterval(() => {
    ports.forEach((port, i) => {
      const { due, credit } = dueThisTick(credits[i] ?? 0, rate);
      credits[i] = credit;
      for (let k = 0; k < due; k++) socket.send(payload, port, HOST);
    });
  }, TICK_MS);
  return () => {
    clearInterval(timer);
  };
}

async function bound(): Promise<dgram.Socket> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, HOST, resolve));
  return socket;
}

/** The stand-in server (a child): a sink for the senders, and `rate` a second to each receiver. */
async function server(): Promise<void> {
  const sink = await bound();
  sink.on("message", () => undefined);
  const out = await bound();
  process.once("message", (start: { ports: number[]; rate: number; size: number }) => {
    const stop = pace(out, start.ports, start.rate, start.size);
    process.once("message", () => {
      stop();
      sink.close();
      out.close();
      process.disconnect();
    });
  });
  process.send?.({ sink: sink.address().port });
}

async function measure(o: FloorOptions): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { stdio: "inherit" });
  const { sink } = await new Promise<{ sink: number }>((resolve) => child.once("message", resolve));
  const receivers = await Promise.all(Array.from({ length: o.receivers }, bound));
  const senders = await Promise.all(Array.from({ length: o.senders }, bound));
  let received = 0;
  for (const socket of receivers)
    socket.on("message", (message, from) => {
      // touch what a real receiver would: the bytes and who sent them
      if (message.length > 0 && from.port > 0) received++;
    });
  child.send({ ports: receivers.map((s) => s.address().port), rate: o.rate, size: o.size });
  const stops = senders.map((socket) => pace(socket, [sink], o.rate, o.size));
  await new Promise((resolve) => setTimeout(resolve, o.warmupS * 1000));
  const before = { cpu: process.cpuUsage(), at: performance.now(), received };
  await new Promise((resolve) => setTimeout(resolve, o.seconds * 1000));
  const cpu = process.cpuUsage(before.cpu);
  const windowS = (performance.now() - before.at) / 1000;
  for (const stop of stops) stop();
  child.send("stop");
  for (const socket of [...receivers, ...senders]) socket.close();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const result = {
    ...o,
    windowS,
    receivedPerS: (received - before.received) / windowS,
    sentPerS: o.senders * o.rate,
    cpuS,
    cores: cpuS / windowS,
    cpuPerParticipantMinute: cpuS / (windowS / 60) / o.participants,
  };
  process.stdout.write(
    `dgram floor: ${o.receivers} receiving and ${o.senders} sending socket(s), ${o.rate}/s of ${o.size} B each: ` +
      `${result.cores.toFixed(4)} cores, ${result.cpuPerParticipantMinute.toFixed(4)} CPU-s per participant-minute ` +
      `for ${o.participants} (received ${result.receivedPerS.toFixed(0)}/s over ${windowS.toFixed(1)} s)\n${JSON.stringify(result)}\n`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  (argv[0] === "--serve" ? server() : measure(floorOptions(argv))).catch((err: unknown) => {
    process.stderr.write(`${messageOf(err)}\n`);
    process.exitCode = 1;
  });
}
