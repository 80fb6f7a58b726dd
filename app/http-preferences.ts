/** The longest `Prefer: wait` honoured, in seconds; a longer one is honoured as this. */
export const MAX_WAIT_SECONDS = 60;

/** One `Prefer` preference: a token, then optionally `= value` and `; parameters` (RFC 7240 §2). */
const PREFERENCE = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*))?\s*(?:;.*)?$/s;

/**
 * The seconds a `Prefer: wait=N` header asks for (RFC 7240 §4.3), at most MAX_WAIT_SECONDS, or
 * undefined when there is no wait preference or its value is not whole seconds (`wait=abc`,
 * `wait=-1`, `wait=1.5`: ignored, as RFC 7240 lets a server ignore what it does not understand).
 * Only the first `wait` counts (§2). Values may be quoted. Several headers arrive joined by commas.
 */
export function preferredWait(header: string | undefined): number | undefined {
  if (!header) return undefined;
  for (const part of splitOutsideQuotes(header)) {
    const m = PREFERENCE.exec(part);
    if (!m || m[1]!.toLowerCase() !== "wait") continue;
    const raw = m[2]?.startsWith('"') ? m[2].slice(1, -1) : m[2];
    if (!raw || !/^\d+$/.test(raw)) return undefined;
    return Math.min(Number(raw), MAX_WAIT_SECONDS);
  }
  return undefined;
}

/** Splits a header value on the commas that are not inside a quoted string. */
function splitOutsideQuotes(value: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === "\\") {
      current += c + (value[++i] ?? "");
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2): `*`, or any listed tag under
 * the weak comparison that If-None-Match uses (`W/"x"` matches `"x"`).
 */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const opaque = etag.replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === opaque);
}
