import { StoreUnavailableError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { JobStore } from "./store/types.js";
import { waitForStore } from "./wait-for-store.js";

/**
 * How many StoreUnavailableErrors in a row one piece of work may meet while the store answers
 * its pings at once, before they count as the work's own fault (say, one command too big to
 * finish within the client's timeout): an outage is waited out, a fault is not retried forever.
 */
const MAX_BLIPS = 3;

/** The worker stopped while work waited for the store: it was not done, and not by its fault. */
export class HoldAbandonedError extends Error {
  override name = "HoldAbandonedError";
  constructor() {
    super("The worker stopped while waiting for the job store.");
  }
}

/** Work that waits out store outages instead of failing on them. */
export interface OutageHold {
  /**
   * Runs `work`; when it fails with StoreUnavailableError, waits until the store answers (one ping
   * loop shared by all held work) and runs it again. While the store is known to be away, new work
   * waits before it starts. Any other error is `work`'s own and is thrown as it is.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Stops waiting (shutdown): held and waiting work rejects with HoldAbandonedError. */
  abandon(): void;
}

/** The worker's hold: a dependency being away is not the job's fault, so it costs no attempt. */
export function createOutageHold(deps: { store: Pick<JobStore, "ping">; logger: Logger }): OutageHold {
  const { store, logger } = deps;
  const abort = new AbortController();
  let back: Promise<number> | null = null;
  let held = 0;

  /** Resolves with how many pings failed before the store answered (0: it was a blip). */
  const storeBack = (): Promise<number> => {
    back ??= (async () => {
      const started = Date.now();
      try {
        const failures = await waitForStore(store, {
          signal: abort.signal,
          onRetry: (err, n) => {
            if (n === 1) logger.warn({ err: (err as Error).message, held }, "store unavailable; holding jobs until it answers");
          },
        });
        if (failures > 0) logger.info({ ms: Date.now() - started, held }, "store answers again; resuming held jobs");
        return failures;
      } catch {
        throw new HoldAbandonedError();
      } finally {
        back = null;
      }
    })();
    return back;
  };

  return {
    async run(work) {
      for (let blips = 0; ; ) {
        if (back) await back;
        try {
          return await work();
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          if (abort.signal.aborted) throw new HoldAbandonedError();
          held++;
          const failures = await storeBack().finally(() => held--);
          blips = failures === 0 ? blips + 1 : 0;
          if (blips >= MAX_BLIPS) throw err;
        }
      }
    },
    abandon() {
      abort.abort();
    },
  };
}
