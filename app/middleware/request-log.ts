import type { Context, Next } from "koa";
import type { Logger } from "../../tasks/logger.js";

/** One log line per request: method, path, status, duration. Query strings are left out (they hold ids). */
export function requestLog(opts: { logger: Logger }) {
  return async function logRequest(ctx: Context, next: Next) {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      opts.logger.info(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100 },
        "request",
      );
    }
  };
}
