import type { Context, Next } from "koa";
import { fixedFieldsLogger, type Logger } from "../../tasks/logger.js";

/** Probe and scrape endpoints, hit every few seconds by machines: logged at debug, not info. */
const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Marks a request as a machine's repeated read (a job's status, polled many times per job), so its
 * line goes out at debug like a probe's: at info a job is its submission, its end and its download.
 */
export function markQuiet(ctx: Context): void {
  ctx.state.quietLog = true;
}

/**
 * Records why a request was answered 503 (the error's class and its message, both the service's
 * own fixed text), so its line says which dependency refused, dropped or timed out, and how.
 */
export function markUnavailable(ctx: Context, err: Error): void {
  ctx.state.unavailable = { error: err.name, reason: err.message };
}

/**
 * One log line per request: method, path, status, duration. Query strings are left out (they
 * hold ids and, for the dashboard, possibly a token); so are headers. A 503 for a dependency
 * (markUnavailable) goes out at warn with its reason, whatever the path.
 */
export function requestLog(opts: { logger: Logger }) {
  const logger = fixedFieldsLogger(opts.logger);
  return async function logRequest(ctx: Context, next: Next) {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const quiet = QUIET_PATHS.has(ctx.path) || ctx.state.quietLog === true;
      const unavailable = ctx.state.unavailable as { error: string; reason: string } | undefined;
      const level = unavailable ? "warn" : quiet && ctx.status < 400 ? "debug" : "info";
      logger[level](
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100, ...unavailable },
        "request",
      );
    }
  };
}
