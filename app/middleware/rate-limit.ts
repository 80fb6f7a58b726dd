import type { Context, Next } from "koa";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { RateLimitedError } from "../../tasks/errors.js";

/** A per-minute counter of submissions per client: Redis-backed (shared by all web processes) or in memory. */
export function createSubmissionLimiter(opts: { perMinute: number; redis?: Redis; prefix: string }): RateLimiterAbstract {
  const options = { points: opts.perMinute, duration: 60, keyPrefix: `${opts.prefix}:ratelimit` };
  return opts.redis ? new RateLimiterRedis({ ...options, storeClient: opts.redis }) : new RateLimiterMemory(options);
}

/** Counts POST /predict per client address (ctx.ip honours X-Forwarded-For only when TRUST_PROXY=1); over the limit → 429. */
export function rateLimitSubmissions(limiter: RateLimiterAbstract) {
  return async function limitSubmissions(ctx: Context, next: Next) {
    if (ctx.method === "POST" && ctx.path === "/predict") {
      try {
        await limiter.consume(ctx.ip || "unknown");
      } catch (res) {
        if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
        throw res; // the store failed: let the error table answer (503), never wave the request through silently
      }
    }
    await next();
  };
}
