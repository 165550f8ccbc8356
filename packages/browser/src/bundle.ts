import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { KnownError } from "@livekit-swarm/schema";

/**
 * Modules that only lean's Node-side files import. The page takes lean's test pattern and stamp
 * reader, pure code, and schema's cryptor report; both declare `sideEffects: false`, so esbuild
 * drops their other modules (schema's zod schemas would add 350 KB to the page) and
 * these imports with them. They are named external only so that resolving them does not fail
 * before tree shaking: one left in the bundle is refused below.
 */
const NODE_ONLY = ["werift", "ws", "@livekit/protocol", "node:*"];

export class BundleError extends KnownError<"bundle"> {
  override readonly name = "BundleError";
  constructor(message: string) {
    super("bundle", message);
  }
}

let bundled: Promise<string> | undefined;
let bundledWorker: Promise<string> | undefined;

/**
 * The page's script, built ahead, under this name beside the module that bundles it: the published
 * package ships it (packages/livekit-swarm's bundle writes it into its dist/, where this module's
 * code lands too), since neither the page's sources nor livekit-client are installed with it.
 */
export const PREBUILT_PAGE = "participant-page.js";

/**
 * The participant page's script: livekit-client, lean's pattern and the page code, bundled by
 * esbuild from this package's build (dist/page/page.js) once per process, or the prebuilt one of
 * the published package. Bundling at run start in the workspace, not in a separate build step,
 * means a page never lags the code that drives it.
 */
export function pageScript(): Promise<string> {
  bundled ??= prebuiltPage() ?? bundlePage();
  return bundled;
}

/** livekit-client's E2EE web worker, bundled as a classic script, under this name beside the page. */
export const PREBUILT_E2EE_WORKER = "participant-e2ee-worker.js";

/**
 * The script of the web worker that encrypts and decrypts frames for an E2EE page
 * (`livekit-client/e2ee-worker`): served beside the page, since a worker is loaded by URL and not
 * from the page's own bundle. Bundled once per process, or the published package's prebuilt one.
 */
export function e2eeWorkerScript(): Promise<string> {
  bundledWorker ??= prebuilt(PREBUILT_E2EE_WORKER) ?? bundleE2eeWorker();
  return bundledWorker;
}

function prebuiltPage(): Promise<string> | undefined {
  return prebuilt(PREBUILT_PAGE);
}

function prebuilt(name: string): Promise<string> | undefined {
  const file = new URL(`./${name}`, import.meta.url);
  return existsSync(file) ? readFile(file, "utf8") : undefined;
}

/** livekit-client's E2EE worker as one classic script (the published package's prepack writes it too). */
export async function bundleE2eeWorker(): Promise<string> {
  const result = await build({
    stdin: {
      contents: 'import "livekit-client/e2ee-worker";',
      resolveDir: fileURLToPath(new URL(".", import.meta.url)),
    },
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]?.text ?? "";
}

/** The page bundled from this package's build (the workspace; the published package's prepack). */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [new URL("./page/page.js", import.meta.url).pathname],
    bundle: true,
    format: "iife",
    platform: "browser",
    // Debian's Chromium here is 156; any Chromium with requestVideoFrameCallback runs it
    target: "chrome120",
    external: NODE_ONLY,
    write: false,
    logLevel: "silent",
  });
  const text = result.outputFiles[0]?.text ?? "";
  const leaked = /\brequire\("([^"]+)"\)/.exec(text);
  if (leaked !== null)
    throw new BundleError(
      `the participant page would need "${leaked[1] ?? ""}", a Node module: a module it imports from @livekit-swarm/lean has side effects or needs Node; keep the page to lean's pattern and stamp`,
    );
  return text;
}
