/**
 * The cluster testbed's images, packed from this host's binaries (oci.ts says why no builder): the
 * pod sandbox's pause (built by scripts/setup from the pinned Kubernetes source), livekit-server and
 * redis-server, each with the shared libraries `ldd` names and nothing else.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { TestbedError } from "../errors.js";
import { ociArchive, type ImageSpec, type LayerEntry } from "./oci.js";

/** The files a dynamically linked program needs: itself at `at`, the loader and every library. */
export function programEntries(binary: string, at: string): LayerEntry[] {
  const entries: LayerEntry[] = [{ kind: "file", path: at, data: readFileSync(binary), mode: 0o755 }];
  let listing: string;
  try {
    listing = execFileSync("ldd", [binary], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch {
    // "not a dynamic executable": a static binary needs nothing else
    return entries;
  }
  const seen = new Set<string>();
  for (const line of listing.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    const path = match?.[1];
    if (path === undefined || seen.has(path)) continue;
    if (line.includes("=> not found"))
      throw new TestbedError("missing-binary", `${binary} needs a library this host lacks: ${line.trim()}`);
    seen.add(path);
    entries.push({ kind: "file", path, data: readFileSync(realpathSync(path)), mode: 0o755 });
  }
  return entries;
}

/** What every image but pause carries: a root user, a group and a writable /tmp. */
const BASE: readonly LayerEntry[] = [
  {
    kind: "file",
    path: "etc/passwd",
    data: Buffer.from("root:x:0:0:root:/:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"),
  },
  { kind: "file", path: "etc/group", data: Buffer.from("root:x:0:\nnogroup:x:65534:\n") },
  { kind: "dir", path: "tmp", mode: 0o1777 },
  { kind: "dir", path: "data", mode: 0o777 },
];

export const PAUSE_IMAGE = "localhost/lkswarm-pause:3.10";

export interface ClusterImages {
  readonly pause: string;
  readonly livekit: string;
  readonly redis: string;
}

export function imageSpecs(
  bins: { pause: string; livekit: string; redis: string },
  livekitVersion: string,
): ImageSpec[] {
  const redisVersion =
    /v=(\d+\.\d+\.\d+)/.exec(execFileSync(bins.redis, ["--version"], { encoding: "utf8" }))?.[1] ?? "local";
  return [
    {
      name: PAUSE_IMAGE,
      entries: [{ kind: "file", path: "pause", data: readFileSync(bins.pause), mode: 0o755 }],
      entrypoint: ["/pause"],
    },
    {
      name: `localhost/lkswarm-livekit:${livekitVersion}`,
      entries: [...BASE, ...programEntries(bins.livekit, "usr/local/bin/livekit-server")],
      entrypoint: ["/usr/local/bin/livekit-server"],
    },
    {
      name: `localhost/lkswarm-redis:${redisVersion}`,
      // redis-cli beside it: `swarm chaos` asks it which node hosts a room (kubectl exec)
      entries: [
        ...BASE,
        ...programEntries(bins.redis, "usr/bin/redis-server"),
        ...programEntries(join(dirname(bins.redis), "redis-cli"), "usr/bin/redis-cli"),
      ],
      entrypoint: ["/usr/bin/redis-server"],
    },
  ];
}

/** Packs each image into `dir` and imports it into the cluster's containerd; returns the names. */
export function importImages(
  specs: readonly ImageSpec[],
  dir: string,
  ctr: (args: readonly string[]) => string,
): string[] {
  return specs.map((spec) => {
    const file = join(dir, `${spec.name.replace(/[^A-Za-z0-9.-]+/g, "_")}.tar`);
    writeFileSync(file, ociArchive(spec));
    ctr(["images", "import", file]);
    return spec.name;
  });
}
