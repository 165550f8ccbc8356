import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestbedError } from "./errors.js";

/** Pinned by scripts/setup; the testbed refuses nothing else silently, it reports what it found. */
export const LIVEKIT_SERVER_VERSION = "1.13.5";

/**
 * The repository's .tools/bin (where scripts/setup installs) when this module runs from a checkout,
 * resolved from src/ or dist/ alike; from the published package (one bundle, whose ../package.json
 * is livekit-swarm's) a per-user cache instead, since node_modules is no place for a 60 MB binary
 * that every project would rebuild.
 */
function defaultToolsBin(): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    if (
      typeof manifest === "object" &&
      manifest !== null &&
      "name" in manifest &&
      manifest.name === "@livekit-swarm/testbed"
    )
      return fileURLToPath(new URL("../../../.tools/bin", import.meta.url));
  } catch {
    // no package.json beside us: not a checkout
  }
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "livekit-swarm", "bin");
}

/** Where livekit-server is looked for and built into: LIVEKIT_SWARM_TOOLS, else the default above. */
export const TOOLS_BIN = process.env.LIVEKIT_SWARM_TOOLS || defaultToolsBin();

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin", "/usr/bin"]);
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

const FIX: Record<string, string> = {
  "livekit-server":
    "run `npm run setup` (it runs `go install github.com/livekit/livekit-server/cmd/server@v1.13.5`), or set LIVEKIT_SERVER_BIN",
  "redis-server": "run `npm run setup` or `apt-get install redis-server`",
  haproxy: "run `npm run setup` or `apt-get install haproxy`",
  prometheus: "run `npm run setup` or `apt-get install prometheus`",
  ip: "run `npm run setup` or `apt-get install iproute2`",
  openssl: "run `npm run setup` or `apt-get install openssl`",
  k6: "run `npm run setup` (it runs `go install go.k6.io/k6@v1.8.1`), or set K6_BIN",
  containerd: "run `bash scripts/setup --kubernetes` or `apt-get install containerd`",
  ctr: "run `bash scripts/setup --kubernetes` or `apt-get install containerd`",
  runc: "run `bash scripts/setup --kubernetes` or `apt-get install runc`",
  nft: "run `npm run setup` or `apt-get install nftables`",
};

/** Pinned by scripts/setup next to livekit-server, with the variable that overrides it. */
const PINNED: Readonly<Record<string, string>> = {
  "livekit-server": "LIVEKIT_SERVER_BIN",
  k6: "K6_BIN",
};

/**
 * Finds a program: an explicit path first, then for the pinned tools (livekit-server, k6) their variable
 * (LIVEKIT_SERVER_BIN, K6_BIN) or the project's .tools/bin, then PATH. Throws a TestbedError naming the fix.
 */
export function findBinary(name: keyof typeof FIX, explicit?: string): string {
  const candidates: string[] = [];
  const variable = PINNED[name];
  const override = variable !== undefined ? process.env[variable] : undefined;
  if (explicit !== undefined) candidates.push(explicit);
  else if (variable !== undefined) candidates.push(override ? override : join(TOOLS_BIN, name));
  for (const candidate of candidates) if (isExecutable(candidate)) return candidate;
  if (explicit === undefined && !override) {
    const found = onPath(name);
    if (found !== undefined) return found;
  }
  const where = candidates.length > 0 ? ` at ${candidates.join(" or ")}` : " on PATH";
  throw new TestbedError("missing-binary", `${name} not found${where}: ${FIX[name] ?? "install it"}`);
}
