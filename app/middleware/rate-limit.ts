import type { Context, Next } from "koa";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RateLimitStore } from "../../tasks/services.js";
import { RateLimitedError } from "../http-errors.js";

/**
 * How long a submission waits for the shared (Redis) count before this process counts it alone.
 * Short: a synchronous predict needs no Redis, so a hung Redis must not slow it down much.
 */
const SHARED_COUNT_TIMEOUT_MS = 500;

/**
 * A per-minute counter of submissions per client: Redis-backed (shared by all web processes) or in
 * memory. The Redis counter is insured: while Redis is unreachable (not "ready": refused,
 * reconnecting) or slow (no answer within SHARED_COUNT_TIMEOUT_MS: hung), this process counts on
 * its own with the same limit, so the limit still holds per process and an outage never turns a
 * submission into a 5xx. The shared count takes over again as soon as Redis answers.
 */
export function createSubmissionLimiter(opts: { perMinute: number; store?: RateLimitStore; prefix: string }): RateLimiterAbstract {
  const options = { points: opts.perMinute, duration: 60, keyPrefix: `${opts.prefix}:ratelimit` };
  if (!opts.store) return new RateLimiterMemory(options);
  const shared = new RateLimiterRedis({ ...options, storeClient: opts.store, rejectIfRedisNotReady: true });
  return new RLWrapperTimeouts({ limiter: shared, timeoutMs: SHARED_COUNT_TIMEOUT_MS, insuranceLimiter: new RateLimiterMemory(options) });
}

/** Counts POST /predict per client address (ctx.ip honours X-Forwarded-For only when TRUST_PROXY=1); over the limit → 429. */
export function rateLimitSubmissions(limiter: RateLimiterAbstract) {
  return async function limitSubmissions(ctx: Context, next: Next) {
    if (ctx.method === "POST" && ctx.path === "/predict") {
      try {
        await limiter.consume(ctx.ip || "unknown");
      } catch (res) {
        if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
        throw res; // not a count (the insured limiter does not fail on an outage): let the error table answer
      }
    }
    await next();
  };
}
