/**
 * A value as a PromQL double-quoted string literal. PromQL reads string escapes the way Go does, so a
 * backslash, a double quote and every control character are escaped: a label value taken from a
 * file or a flag (a run id, a room name) can never end the literal and rewrite the query.
 */
export function promqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `name="value"` with the value escaped; the name must already be a valid label name. */
export function labelMatcher(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new Error(`not a Prometheus label name: ${JSON.stringify(name)}`);
  return `${name}=${promqlString(value)}`;
}
