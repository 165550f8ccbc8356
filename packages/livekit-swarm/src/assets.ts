import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderDashboards, renderShareableDashboards } from "@livekit-swarm/dashboards";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * The release's observability assets, path → text: each dashboard in the provisioning shape (what
 * docker-compose.yml mounts) and in Grafana's shareable export shape (Dashboards > Import asks for
 * the Prometheus), and the alert and recording rules as committed (generated, checked for drift).
 */
export function releaseAssets(): Map<string, string> {
  const assets = new Map<string, string>();
  for (const [path, text] of renderDashboards())
    assets.set(join("dashboards", "provisioning", basename(path)), text);
  for (const [path, text] of renderShareableDashboards())
    assets.set(join("dashboards", "shareable", basename(path)), text);
  for (const file of readdirSync(join(ROOT, "alerts"))
    .filter((f) => f.endsWith(".rules.yaml"))
    .sort())
    assets.set(join("alerts", file), readFileSync(join(ROOT, "alerts", file), "utf8"));
  return assets;
}

/** Writes the assets into `dir/<name>/` and packs them as `dir/<name>.tar.gz`; returns the tarball. */
export function writeReleaseAssets(dir: string, name: string): string {
  const folder = join(dir, name);
  rmSync(folder, { recursive: true, force: true });
  for (const [path, text] of releaseAssets()) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), text);
  }
  const tarball = join(dir, `${name}.tar.gz`);
  execFileSync("tar", ["-czf", tarball, "-C", dir, name]);
  return tarball;
}
