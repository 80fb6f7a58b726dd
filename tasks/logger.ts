import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Keys whose values never reach a log line, top level or one object down. Defence in depth:
 * callers log `redactUrl(url)` and never log tokens or headers in the first place.
 */
const REDACT_KEYS = ["password", "token", "authorization", "cookie", "x-api-token", "RABBITMQ_URL", "REDIS_URL", "API_TOKENS"];

/** JSON-lines logger; secrets in URLs are redacted by the caller via `redactUrl`. */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    level: opts.level ?? "info",
    redact: { paths: REDACT_KEYS.flatMap((k) => [`["${k}"]`, `*["${k}"]`]), censor: "***" },
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
