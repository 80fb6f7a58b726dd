import { pino, type Logger } from "pino";

export type { Logger };

/** JSON-lines logger; secrets in URLs are redacted by the caller via `redactUrl`. */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: opts.level ?? "info",
    base: { service: opts.name ?? "iris" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A URL with its password replaced, safe to log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable url>";
  }
}
