import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ociArchive } from "./oci.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Unpacks with GNU tar, the reader containerd's import is compared against here. */
function unpack(archive: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "oci-"));
  writeFileSync(join(dir, "image.tar"), archive);
  execFileSync("tar", ["-xf", "image.tar"], { cwd: dir });
  return dir;
}

describe("ociArchive", () => {
  const long = `${"d".repeat(60)}/${"e".repeat(60)}/lib.so`;
  const archive = ociArchive({
    name: "localhost/lkswarm-test:1.0",
    entries: [
      { kind: "file", path: "usr/bin/tool", data: Buffer.from("#!tool\n"), mode: 0o755 },
      { kind: "file", path: long, data: Buffer.alloc(1500, 7) },
      { kind: "symlink", path: "bin", target: "usr/bin" },
      { kind: "dir", path: "tmp", mode: 0o1777 },
      { kind: "file", path: "usr/bin/tool", data: Buffer.from("second copy, dropped") },
    ],
    entrypoint: ["/usr/bin/tool"],
  });

  it("is an OCI layout whose index names the image and whose blobs match their digests", () => {
    const dir = unpack(archive);
    expect(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8"))).toEqual({
      imageLayoutVersion: "1.0.0",
    });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const entry = index.manifests[0];
    expect(entry?.annotations["io.containerd.image.name"]).toBe("localhost/lkswarm-test:1.0");
    expect(entry?.annotations["org.opencontainers.image.ref.name"]).toBe("1.0");
    const blob = (digest: string) =>
      readFileSync(join(dir, "blobs", "sha256", digest.replace("sha256:", "")));
    const manifestBytes = blob(entry?.digest ?? "");
    expect(`sha256:${sha(manifestBytes)}`).toBe(entry?.digest);
    const manifest = JSON.parse(manifestBytes.toString()) as {
      config: { digest: string };
      layers: { digest: string; size: number }[];
    };
    const config = JSON.parse(blob(manifest.config.digest).toString()) as {
      config: { Entrypoint: string[] };
      rootfs: { diff_ids: string[] };
    };
    expect(config.config.Entrypoint).toEqual(["/usr/bin/tool"]);
    const layer = blob(manifest.layers[0]?.digest ?? "");
    expect(layer.length).toBe(manifest.layers[0]?.size);
    expect(`sha256:${sha(layer)}`).toBe(config.rootfs.diff_ids[0]);
  });

  it("packs the layer's files, parents, modes, a symlink and a path over 100 bytes; each path once", () => {
    const dir = unpack(archive);
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      readFileSync(
        join(dir, "blobs", "sha256", (index.manifests[0]?.digest ?? "").replace("sha256:", "")),
      ).toString(),
    ) as { layers: { digest: string }[] };
    const layerFile = join(dir, "blobs", "sha256", (manifest.layers[0]?.digest ?? "").replace("sha256:", ""));
    const listing = execFileSync("tar", ["-tvf", layerFile], { encoding: "utf8" }).trim().split("\n");
    const names = listing.map((l) => l.split(/\s+/).slice(5).join(" "));
    expect(names).toEqual([
      "usr/",
      "usr/bin/",
      "usr/bin/tool",
      `${"d".repeat(60)}/`,
      `${"d".repeat(60)}/${"e".repeat(60)}/`,
      long,
      "bin -> usr/bin",
      "tmp/",
    ]);
    expect(listing[2]).toMatch(/^-rwxr-xr-x root\/root\s+7 /);
    expect(listing[7]).toMatch(/^drwxrwxrwt /);
    const out = mkdtempSync(join(tmpdir(), "layer-"));
    execFileSync("tar", ["-xf", layerFile, "-C", out]);
    expect(readFileSync(join(out, long)).equals(Buffer.alloc(1500, 7))).toBe(true);
    expect(readFileSync(join(out, "usr/bin/tool"), "utf8")).toBe("#!tool\n");
  });

  it("gives the same bytes for the same files (mtime 0), so an image's digest names its content", () => {
    const again = ociArchive({
      name: "localhost/lkswarm-test:1.0",
      entries: [{ kind: "file", path: "a", data: Buffer.from("x") }],
      entrypoint: ["/a"],
    });
    const once = ociArchive({
      name: "localhost/lkswarm-test:1.0",
      entries: [{ kind: "file", path: "a", data: Buffer.from("x") }],
      entrypoint: ["/a"],
    });
    expect(sha(again)).toBe(sha(once));
  });
});
