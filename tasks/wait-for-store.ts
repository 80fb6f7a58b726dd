import { setTimeout as sleep } from "node:timers/promises";
import type { JobStore } from "./store/types.js";

/** How `waitForStore` paces its pings. */
export interface WaitForStoreOptions {
  /** First pause between pings (ms); it doubles up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Stops waiting (the promise rejects with an AbortError): a shutdown. */
  signal?: AbortSignal;
  /** Called after each failed ping, with the error and how many pings failed so far. */
  onRetry?: (err: unknown, failures: number) => void;
}

/**
 * Resolves as soon as `store.ping()` succeeds, pinging with a backoff (200 ms → 2 s by default)
 * for as long as it takes. Resolves with the number of pings that failed first (0: it answered at
 * once). Each ping is bounded by the Redis client's command timeout, so a hung server counts as
 * a failed ping, not a stuck one.
 */
export async function waitForStore(store: Pick<JobStore, "ping">, opts: WaitForStoreOptions = {}): Promise<number> {
  const max = opts.maxDelayMs ?? 2000;
  let delay = opts.minDelayMs ?? 200;
  for (let failures = 0; ; failures++) {
    opts.signal?.throwIfAborted();
    try {
      await store.ping();
      return failures;
    } catch (err) {
      opts.onRetry?.(err, failures + 1);
    }
    await sleep(delay, undefined, { signal: opts.signal });
    delay = Math.min(delay * 2, max);
  }
}
