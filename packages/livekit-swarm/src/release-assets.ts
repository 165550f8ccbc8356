/** `npm run release:assets [DIR]`: the dashboards and alert rules to attach to a GitHub release. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeReleaseAssets } from "./assets.js";
import { publishedVersion } from "./tool-module.js";

const dir = process.argv[2] ?? join(fileURLToPath(new URL("../../../", import.meta.url)), "release-assets");
const tarball = writeReleaseAssets(dir, `livekit-swarm-observability-${publishedVersion()}`);
process.stdout.write(`wrote ${tarball} and the folder beside it\n`);
