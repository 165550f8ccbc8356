import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { e2eeWorkerScript, pageScript } from "./bundle.js";
import { E2EE_WORKER_PATH } from "./protocol.js";

const HTML = `<!doctype html><meta charset="utf-8"><title>livekit-swarm participant</title>
<style>body{margin:0;background:#111}canvas,video{width:320px;margin:2px}section{min-height:4px}</style>
<script src="/page.js"></script>`;

/**
 * A participant's box (section) has a least height: a shared page's screenshot is clipped to it, and
 * an audio-only participant's box holds only invisible <audio> elements (a 0-high element has no
 * screenshot).
 *
 * Serves the participant page on loopback: a page from http://127.0.0.1 is a secure context, which
 * getUserMedia needs, and nothing is fetched from outside. Three fixed paths (the page, its script,
 * livekit-client's E2EE worker); anything else is 404.
 */
export class PageServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<PageServer> {
    const [script, e2eeWorker] = await Promise.all([pageScript(), e2eeWorkerScript()]);
    const server = createServer((request, response) => {
      const body =
        request.url === "/"
          ? HTML
          : request.url === "/page.js"
            ? script
            : request.url === E2EE_WORKER_PATH
              ? e2eeWorker
              : undefined;
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response
        .writeHead(200, {
          "content-type": request.url === "/" ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8",
        })
        .end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    // the server must not keep a worker alive that has nothing else to do
    server.unref();
    const { port } = server.address() as AddressInfo;
    return new PageServer(server, `http://127.0.0.1:${port}/`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
