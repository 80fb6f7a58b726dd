import { getPriority, setPriority } from "node:os";
import type { Logger } from "./logger.js";

/**
 * Sets this process's niceness to `nice` (WORKER_NICE) unless it is already at least that nice
 * (an operator's `nice -n 10 npm run worker` is kept). On Linux this is the main thread's
 * priority, the one that runs jobs; a refusal is logged, never fatal.
 */
export function lowerPriority(nice: number, logger: Logger): void {
  try {
    if (getPriority() >= nice) return;
    setPriority(nice);
  } catch (err) {
    logger.warn({ err, nice }, "could not lower the worker's scheduling priority; running at the default");
  }
}
