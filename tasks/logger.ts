import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Keys whose values never reach a log line, top level or one object down. Defence in depth:
 * callers log `redactUrl(url)` and never log tokens or headers in the first place.
 */
const REDACT_KEYS = [
  "password",
  "token",
  "authorization",
  "cookie",
  "x-api-token",
  "RABBITMQ_URL",
  "REDIS_URL",
  "API_TOKENS",
];

/**
 * JSON-lines logger to stdout; secrets in URLs are redacted by the caller via `redactUrl`.
 * Lines are written asynchronously: under load, lines that queue up while a write is in flight
 * go out in one write instead of one syscall each. The shutdown sequence flushes before exiting;
 * a process killed outright may lose its last few milliseconds of lines.
 *
 * Not in blocks (sonic-boom's minLength): lines held back for up to a flush interval are late
 * for anything that reads the log as it happens, tests included.
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      redact: { paths: REDACT_KEYS.flatMap((k) => [`["${k}"]`, `*["${k}"]`]), censor: "***" },
      base: { service: opts.name ?? "iris" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * The same logger without redaction, for the hot lines whose fields are fixed and never secret
 * (a request's method, path, status and duration; a job's id and stage): redaction scans every
 * line's keys, which more than doubles what a line costs (BENCHMARKS.md, "Figures behind the
 * code"). Anything else goes through the redacting one.
 */
export function fixedFieldsLogger(logger: Logger): Logger {
  return logger.child({}, { redact: [] });
}

/** Logs a fatal line, writes it out synchronously, and exits: for start-up refusals. */
export function exitFatal(logger: Logger, message: string, code = 2): never {
  logger.fatal(message);
  (logger as unknown as Record<symbol, { flushSync?: () => void }>)[pino.symbols.streamSym]?.flushSync?.();
  process.exit(code);
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
