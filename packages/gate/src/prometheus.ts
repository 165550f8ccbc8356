import { KnownError } from "@livekit-swarm/schema";
/** The one Prometheus HTTP client: an instant query, with a timeout and errors that name the URL and the fix. */

/** A failure to reach or query Prometheus: the message names the URL and the fix. */
export class PrometheusError extends KnownError<"prometheus"> {
  override readonly name = "PrometheusError";
  constructor(message: string) {
    super("prometheus", message);
  }
}

export interface InstantQueryOptions {
  /** Epoch ms to evaluate at; undefined: Prometheus's now. */
  readonly atMs?: number;
  readonly timeoutMs: number;
}

/**
 * Checks a Prometheus base URL before anything is sent: http or https, a host, no query or
 * fragment. Returns the URL without a trailing slash or credentials, a form safe to print, and the
 * headers that carry credentials written into the URL, so an error message never shows them.
 */
export function prometheusUrl(text: string): {
  readonly base: string;
  readonly shown: string;
  readonly headers: Readonly<Record<string, string>>;
} {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PrometheusError(
      `--prometheus ${JSON.stringify(text.slice(0, 80))} is not a URL: write it like http://127.0.0.1:9090`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PrometheusError(
      `--prometheus: Prometheus speaks HTTP, got a ${url.protocol.replace(/:$/, "")}: URL; write it like http://127.0.0.1:9090`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new PrometheusError(
      "--prometheus: give the server's base URL without a query or fragment, like http://127.0.0.1:9090",
    );
  }
  // fetch() refuses a URL with credentials in it: they travel as a Basic Authorization header.
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  const base = url.href.replace(/\/$/, "");
  if (user === "" && password === "") return { base, shown: base, headers: {} };
  const basic = Buffer.from(`${user}:${password}`).toString("base64");
  return {
    base,
    shown: `${url.protocol}//***@${url.host}${url.pathname}`.replace(/\/$/, ""),
    headers: { authorization: `Basic ${basic}` },
  };
}

/**
 * Runs an instant query and returns the first sample's value (a scalar's value for a scalar
 * result); undefined when the query returned no series or NaN.
 */
export async function queryInstant(
  base: string,
  query: string,
  options: InstantQueryOptions,
): Promise<number | undefined> {
  const target = prometheusUrl(base);
  const time = options.atMs === undefined ? "" : `&time=${(options.atMs / 1000).toFixed(3)}`;
  const url = `${target.base}/api/v1/query?query=${encodeURIComponent(query)}${time}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: target.headers, signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new PrometheusError(
      `cannot reach Prometheus at ${target.shown}: ${cause} - is it running? pass --prometheus URL`,
    );
  }
  const body = (await res.json().catch(() => undefined)) as
    { status?: string; error?: string; data?: { resultType?: string; result?: unknown } } | undefined;
  if (body?.status !== "success") {
    throw new PrometheusError(
      `Prometheus at ${target.shown} rejected ${query}: ${body?.error ?? `HTTP ${res.status}`}`,
    );
  }
  const result = body.data?.result;
  let raw: unknown;
  if (body.data?.resultType === "scalar" && Array.isArray(result)) raw = result[1];
  else if (Array.isArray(result)) raw = (result[0] as { value?: [number, string] } | undefined)?.value?.[1];
  const value = raw === undefined ? undefined : Number(raw);
  return value === undefined || Number.isNaN(value) ? undefined : value;
}
