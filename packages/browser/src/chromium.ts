import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isIPv4 } from "node:net";
import { join } from "node:path";
import { launch, type Browser } from "puppeteer-core";
import { KnownError, messageOf } from "@livekit-swarm/schema";

/**
 * Debian's Chromium binary itself: the /usr/bin/chromium wrapper script fails a shell test on some
 * machines (docs/browser-engine.md). LIVEKIT_SWARM_CHROMIUM points elsewhere.
 */
export const DEFAULT_CHROMIUM = "/usr/lib/chromium/chromium";

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.LIVEKIT_SWARM_CHROMIUM ?? DEFAULT_CHROMIUM;
}

export class ChromiumError extends KnownError<"missing" | "launch"> {
  override readonly name = "ChromiumError";
}

export interface ChromiumOptions {
  /** The WAV the fake microphone plays, looped. */
  readonly audioFile: string;
  /** The LiveKit server's host name: the only name the browser may resolve. */
  readonly serverHost: string;
  /** Running as root: Chromium's sandbox needs user namespaces it cannot get then. */
  readonly root: boolean;
  /**
   * A testbed's TURN/TLS listener behind a self-signed certificate: `name` (the `turns:` URL's host)
   * resolves to `host`, and a certificate with this key (`spki`, base64 SHA-256 of its
   * SubjectPublicKeyInfo) is trusted, no other (docs/transport.md).
   */
  readonly turnTls?: { readonly name: string; readonly host: string; readonly spki: string };
}

/**
 * Chromium's flags for a participant, each with its reason (docs/browser-engine.md has the
 * measurements). puppeteer adds its own defaults, which already keep the browser off the network
 * at start (no background networking, sync, component updates, first-run or default apps) and
 * disable background timer throttling and renderer backgrounding; the ones we rely on are repeated.
 */
export function chromiumFlags(options: ChromiumOptions): string[] {
  const tls = options.turnTls;
  if (tls !== undefined) checkTurnTls(tls);
  return [
    // media: the fake capture devices, granted without a prompt; the microphone plays our WAV
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${options.audioFile}`,
    // remote audio plays without a user gesture, so it is decoded and mixed as in a real tab
    "--autoplay-policy=no-user-gesture-required",
    // load: a hidden or occluded page keeps its timers and frame rate (headless pages count as hidden)
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    // /dev/shm is small in containers; Chromium's shared memory goes to /tmp instead
    "--disable-dev-shm-usage",
    // WebRTC: real host addresses instead of mDNS names (no multicast, the SFU can reach them),
    // and loopback candidates, the only ones a namespace with just lo has
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
    // no outside network: every name but the server's and the page's loopback fails to resolve
    // (and the testbed's TURN/TLS name, to its address)
    `--host-resolver-rules=${tls !== undefined ? `MAP ${tls.name} ${tls.host}, ` : ""}MAP * ~NOTFOUND, EXCLUDE ${options.serverHost}, EXCLUDE 127.0.0.1`,
    // the testbed's self-signed TURN/TLS certificate, pinned by its key: nothing else is trusted
    // that a real browser would refuse (measured: without it Chromium closes the TLS handshake)
    ...(tls !== undefined ? [`--ignore-certificate-errors-spki-list=${tls.spki}`] : []),
    ...(options.root ? ["--no-sandbox"] : []),
  ];
}

/** A launched Chromium and the profile directory it owns. */
export interface Chromium {
  readonly browser: Browser;
  /** Closes the browser (its whole process group) and removes the profile. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with its own fresh profile. Over a pipe, not a port: the browser
 * exits when the pipe closes, so a worker killed outright (SIGKILL, nothing runs) takes its
 * browsers with it. Signals are ours to handle: a Ctrl-C drains the run, then closes the browser.
 */
export async function launchChromium(
  options: ChromiumOptions,
  executable = chromiumPath(),
): Promise<Chromium> {
  if (!existsSync(executable))
    throw new ChromiumError(
      "missing",
      `Chromium not found at ${executable}: run scripts/setup (it installs Debian's chromium), or set LIVEKIT_SWARM_CHROMIUM`,
    );
  const profile = await mkdtemp(join(tmpdir(), "lkswarm-chromium-"));
  let browser: Browser;
  try {
    browser = await launch({
      executablePath: executable,
      headless: true,
      pipe: true,
      userDataDir: profile,
      args: chromiumFlags(options),
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw new ChromiumError("launch", `Chromium did not start: ${messageOf(err)}`);
  }
  let closing: Promise<void> | undefined;
  return {
    browser,
    close(): Promise<void> {
      closing ??= (async () => {
        const process = browser.process();
        // close() asks the browser to quit, then kills its process group on its own exit paths;
        // bounded, because a browser that hangs must not hold the worker's exit
        await Promise.race([browser.close(), new Promise((resolve) => setTimeout(resolve, 5000))]).catch(
          () => undefined,
        );
        if (process?.pid !== undefined && process.exitCode === null && process.signalCode === null) {
          try {
            globalThis.process.kill(-process.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        await rm(profile, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** Each part of a TURN/TLS trust goes into a flag: held to what it can be. */
function checkTurnTls(tls: NonNullable<ChromiumOptions["turnTls"]>): void {
  if (
    !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(tls.name) ||
    !isIPv4(tls.host) ||
    !/^[A-Za-z0-9+/]{43}=$/.test(tls.spki)
  )
    throw new Error(
      `turnTls: expected a DNS name, an IPv4 address and a base64 SHA-256 pin, got ${JSON.stringify(tls)}`,
    );
}
