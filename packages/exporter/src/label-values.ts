/** How many distinct values one free-text label may take before new ones are folded into `other`. */
export const MAX_FREE_TEXT_VALUES = 16;
export const OVERFLOW_VALUE = "other";

/**
 * Values for a label fed from free text (an SDK's disconnect reason, a join failure class, a quality
 * name). They come out in snake_case (`CLIENT_INITIATED` and `server-limit` become
 * `client_initiated` and `server_limit`), and the set is capped: the text comes from outside this
 * package, and one unexpected source of unique strings must not mint a series per string.
 */
export class FreeTextLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly limit = MAX_FREE_TEXT_VALUES) {}

  valueOf(text: string): string {
    const value = snakeCase(text);
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return OVERFLOW_VALUE;
    this.seen.add(value);
    return value;
  }
}

export function snakeCase(text: string): string {
  const value = text
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .slice(0, 64)
    .replace(/^_+|_+$/g, "");
  return value === "" ? "unknown" : value;
}
