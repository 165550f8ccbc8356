/** The one Prometheus HTTP client: an instant query, with a timeout and errors that name the URL and the fix. */

/** A failure to reach or query Prometheus: the message names the URL and the fix. */
export class PrometheusError extends Error {
  override readonly name = "PrometheusError";
  readonly reason = "prometheus";
  toJSON(): { name: string; reason: string; message: string } {
    return { name: this.name, reason: this.reason, message: this.message };
  }
}

export interface InstantQueryOptions {
  /** Epoch ms to evaluate at; undefined: Prometheus's now. */
  readonly atMs?: number;
  readonly timeoutMs: number;
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
  const time = options.atMs === undefined ? "" : `&time=${(options.atMs / 1000).toFixed(3)}`;
  const url = `${base.replace(/\/$/, "")}/api/v1/query?query=${encodeURIComponent(query)}${time}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new PrometheusError(
      `cannot reach Prometheus at ${base}: ${cause} - is it running? pass --prometheus URL`,
    );
  }
  const body = (await res.json().catch(() => undefined)) as
    | { status?: string; error?: string; data?: { resultType?: string; result?: unknown } }
    | undefined;
  if (body?.status !== "success") {
    throw new PrometheusError(
      `Prometheus at ${base} rejected ${query}: ${body?.error ?? `HTTP ${res.status}`}`,
    );
  }
  const result = body.data?.result;
  let raw: unknown;
  if (body.data?.resultType === "scalar" && Array.isArray(result)) raw = result[1];
  else if (Array.isArray(result)) raw = (result[0] as { value?: [number, string] } | undefined)?.value?.[1];
  const value = raw === undefined ? undefined : Number(raw);
  return value === undefined || Number.isNaN(value) ? undefined : value;
}
