/**
 * One-layer OCI image archives, made from files of this host, for `ctr images import`: the cluster
 * testbed's pause, LiveKit and Redis images. No registry is reachable from many CI machines (none is
 * from ours), and these images hold nothing but a binary and the shared libraries it links, so they
 * are packed here rather than built: the layer is a tar of those files, the archive an OCI image
 * layout (oci-layout, index.json, blobs) whose index names the image, as containerd expects.
 */
import { createHash } from "node:crypto";

export type LayerEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode?: number }
  | { readonly kind: "file"; readonly path: string; readonly data: Buffer; readonly mode?: number }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string };

export interface ImageSpec {
  /** e.g. `localhost/lkswarm-livekit:1.13.5`: the reference pods name with imagePullPolicy Never. */
  readonly name: string;
  readonly entries: readonly LayerEntry[];
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as ustar writes numeric fields
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** A ustar header; names over 100 bytes go into the prefix field, split at a slash. */
function header(entry: {
  path: string;
  size: number;
  mode: number;
  type: "0" | "2" | "5";
  link?: string;
}): Buffer {
  const block = Buffer.alloc(BLOCK);
  let name = entry.path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100)
      throw new Error(`tar: path too long for ustar: ${entry.path}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  block.write(name, 0, 100, "utf8");
  block.write(octal(entry.mode, 8), 100, "ascii");
  block.write(octal(0, 8), 108, "ascii");
  block.write(octal(0, 8), 116, "ascii");
  block.write(octal(entry.size, 12), 124, "ascii");
  block.write(octal(0, 12), 136, "ascii");
  block.write("        ", 148, "ascii");
  block.write(entry.type, 156, "ascii");
  if (entry.link !== undefined) block.write(entry.link, 157, 100, "utf8");
  block.write("ustar\0", 257, "ascii");
  block.write("00", 263, "ascii");
  block.write("root", 265, "ascii");
  block.write("root", 297, "ascii");
  block.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return block;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A ustar archive of `entries`, in their order. */
function tarOf(entries: readonly LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    if (e.kind === "dir") {
      parts.push(header({ path: `${path.replace(/\/$/, "")}/`, size: 0, mode: e.mode ?? 0o755, type: "5" }));
    } else if (e.kind === "symlink") {
      parts.push(header({ path, size: 0, mode: 0o777, type: "2", link: e.target }));
    } else {
      parts.push(
        header({ path, size: e.data.length, mode: e.mode ?? 0o644, type: "0" }),
        e.data,
        padding(e.data.length),
      );
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function digest(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * The OCI archive of one image. Directories every parent of a file needs are added before it, so a
 * spec lists only what matters; `mtime` is 0 throughout, so the same files give the same digest.
 */
export function ociArchive(spec: ImageSpec): Buffer {
  const seen = new Set<string>();
  const ordered: LayerEntry[] = [];
  const addDirs = (path: string): void => {
    const parts = path.replace(/^\/+/, "").split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (!seen.has(dir)) {
        seen.add(dir);
        ordered.push({ kind: "dir", path: dir });
      }
    }
  };
  for (const e of spec.entries) {
    addDirs(e.path);
    // two programs of one image share their libraries: each path once, the first one given
    const key = e.path.replace(/^\/+/, "").replace(/\/$/, "");
    if (seen.has(key)) continue;
    seen.add(key);
    ordered.push(e);
  }
  const layer = tarOf(ordered);
  const layerDigest = digest(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: process.arch === "arm64" ? "arm64" : "amd64",
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ...(spec.env ?? [])],
        Entrypoint: spec.entrypoint,
        ...(spec.cmd !== undefined ? { Cmd: spec.cmd } : {}),
        WorkingDir: "/",
      },
      rootfs: { type: "layers", diff_ids: [layerDigest] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: digest(config),
        size: config.length,
      },
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const tag = spec.name.slice(spec.name.lastIndexOf(":") + 1);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: digest(manifest),
          size: manifest.length,
          annotations: { "io.containerd.image.name": spec.name, "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  const blob = (data: Buffer): LayerEntry => ({
    kind: "file",
    path: `blobs/sha256/${digest(data).slice("sha256:".length)}`,
    data,
  });
  return tarOf([
    { kind: "file", path: "oci-layout", data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { kind: "file", path: "index.json", data: index },
    { kind: "dir", path: "blobs" },
    { kind: "dir", path: "blobs/sha256" },
    blob(layer),
    blob(config),
    blob(manifest),
  ]);
}
