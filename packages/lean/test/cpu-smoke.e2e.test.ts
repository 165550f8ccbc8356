import { Testbed } from "@livekit-swarm/testbed";
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadavg } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  LeanParticipant,
  PACKET_MS,
  opusLoop,
  processPacer,
  sourceAddressFor,
  VIDEO_FORMATS,
  videoLoop,
  type LeanVideoCodec,
} from "../src/index.js";
import { joinRoom } from "./join.js";

/**
 * A CPU smoke figure, not a benchmark: N rooms of 1 audio publisher + 4 subscribers in this one
 * process, CPU-seconds per participant-minute from process.cpuUsage() over a steady window after
 * every subscriber receives. Opt-in (it takes a minute and means little on a shared machine):
 *   LEAN_SMOKE_ROOMS=10 LEAN_SMOKE_SECONDS=45 npx vitest run --project e2e packages/lean/test/cpu-smoke.e2e.test.ts
 * LEAN_SMOKE_VIDEO=1: the publishers send the 360p VP8 loop (20 fps) instead of audio;
 * LEAN_SMOKE_CODEC=h264 sends the H.264 loop instead of VP8.
 */
const rooms = Number(process.env.LEAN_SMOKE_ROOMS ?? 0);
const video = process.env.LEAN_SMOKE_VIDEO === "1";
const codec: LeanVideoCodec = process.env.LEAN_SMOKE_CODEC === "h264" ? "h264" : "vp8";
const seconds = Number(process.env.LEAN_SMOKE_SECONDS ?? 45);
const SUBSCRIBERS = 4;
const CONCURRENT_ROOMS = 5;

/** utime + stime of a process in seconds (Linux /proc, 100 ticks per second). */
function processCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe.runIf(rooms > 0)("lean CPU smoke (a measurement, skipped unless LEAN_SMOKE_ROOMS=N is set)", () => {
  let tb: Testbed | undefined;
  const participants: LeanParticipant[] = [];
  afterAll(async () => {
    await Promise.allSettled(participants.map((p) => p.leave()));
    await tb?.stop();
  });

  it(
    `${rooms} rooms of 1+${SUBSCRIBERS} ${video ? `360p ${codec} video` : "audio"} for ${seconds} s`,
    async () => {
      const loop = video ? undefined : await opusLoop();
      const camera = video ? await videoLoop({ codec, width: 640, height: 360, fps: 20 }) : undefined;
      // what a subscriber receives per second when nothing is lost or late
      const sourcePacketsPerS =
        camera === undefined
          ? 1000 / PACKET_MS
          : (camera.frames.reduce((n, f) => n + VIDEO_FORMATS[codec].payloads(f, 0).length, 0) * camera.fps) /
            camera.frames.length;
      const bed = await Testbed.start({ name: `e2e-lean-smoke-${process.pid}` });
      tb = bed;
      const hostAddress = await sourceAddressFor(new URL(bed.url).hostname);
      const joinStart = Date.now();
      const subscribers: LeanParticipant[] = [];
      let publishers = 0;
      // rooms join CONCURRENT_ROOMS at a time, participants of a room one after the other
      const fillRoom = async (r: number): Promise<void> => {
        const room = `smoke-${r}`;
        const joins = [{ identity: `pub-${r}`, publish: true }];
        for (let s = 0; s < SUBSCRIBERS; s++) joins.push({ identity: `sub-${r}-${s}`, publish: false });
        for (const { identity, publish } of joins) {
          const p = await joinRoom(bed, room, identity, publish, { loop, video: camera, hostAddress });
          participants.push(p);
          if (publish) publishers++;
          else subscribers.push(p);
        }
      };
      for (let r = 0; r < rooms; r += CONCURRENT_ROOMS) {
        const batch = [];
        for (let i = r; i < Math.min(rooms, r + CONCURRENT_ROOMS); i++) batch.push(fillRoom(i));
        await Promise.all(batch);
      }
      const joinS = (Date.now() - joinStart) / 1000;
      // let the last subscriptions settle before the window opens
      await delay(3000);
      for (const p of participants) p.sample(0);
      const node = bed.nodes[0];
      const server0 = node === undefined ? 0 : processCpuS(node.pid);
      // LEAN_SMOKE_PROFILE=file.cpuprofile: a V8 CPU profile of the window (it costs CPU itself,
      // so a profiled run's figure is not a smoke figure)
      const profileFile = process.env.LEAN_SMOKE_PROFILE;
      const session = profileFile === undefined ? undefined : new Session();
      if (session !== undefined) {
        session.connect();
        await session.post("Profiler.enable");
        await session.post("Profiler.start");
      }
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const skipped0 = processPacer.skipped;
      await delay(seconds * 1000);
      const cpu = process.cpuUsage(cpu0);
      if (session !== undefined && profileFile !== undefined) {
        const { profile } = await session.post("Profiler.stop");
        writeFileSync(profileFile, JSON.stringify(profile));
        session.disconnect();
      }
      const elapsedS = (performance.now() - t0) / 1000;
      const serverS = node === undefined ? 0 : processCpuS(node.pid) - server0;
      const windows = subscribers.map((s) => s.sample(0));
      const received = windows.reduce((n, w) => n + w.inbound.reduce((m, i) => m + i.received, 0), 0);
      const lost = windows.reduce((n, w) => n + w.inbound.reduce((m, i) => m + i.lost, 0), 0);
      const silent = windows.filter((w) => w.inbound.every((i) => i.received === 0)).length;
      const n = participants.length;
      const participantMinutes = (n * elapsedS) / 60;
      const figure = {
        label: "shared noisy machine, smoke figure",
        rooms,
        participants: n,
        publishers,
        joinS,
        windowS: Number(elapsedS.toFixed(1)),
        cpuUserS: cpu.user / 1e6,
        cpuSystemS: cpu.system / 1e6,
        cpuSPerParticipantMinute: Number(((cpu.user + cpu.system) / 1e6 / participantMinutes).toFixed(3)),
        serverCpuSPerParticipantMinute: Number((serverS / participantMinutes).toFixed(3)),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        received,
        lost,
        packetsPerSecondPerSubscriber: Number((received / subscribers.length / elapsedS).toFixed(1)),
        sourcePacketsPerSecond: Number(sourcePacketsPerS.toFixed(1)),
        framesPerSecondPerSubscriber: video
          ? Number(
              (
                windows.reduce((n, w) => n + w.inbound.reduce((m, i) => m + i.framesDecoded, 0), 0) /
                subscribers.length /
                elapsedS
              ).toFixed(1),
            )
          : undefined,
        pacerSkippedTicks: processPacer.skipped - skipped0,
        loadAverage1m: loadavg()[0],
        profiled: profileFile !== undefined,
      };
      // a starved process sends and handles less, so its CPU per participant-minute looks cheap:
      // more than 4% short of the source's packet rate, the figure measures the machine, not the engine
      const starved = figure.packetsPerSecondPerSubscriber < 0.96 * sourcePacketsPerS || figure.profiled;
      console.log(`LEAN_SMOKE ${JSON.stringify({ ...figure, valid: !starved })}`);
      expect(silent, JSON.stringify(figure)).toBe(0);
    },
    seconds * 1000 + rooms * 5 * 15_000 + 60_000,
  );
});
