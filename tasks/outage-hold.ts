import { StoreUnavailableError } from "./errors.js";
import type { Logger } from "./logger.js";
import { ReportStoreUnavailableError } from "./report-store/errors.js";
import type { ReportStore } from "./report-store/types.js";
import type { JobStore } from "./store/types.js";
import { waitForStore } from "./wait-for-store.js";

/**
 * How many outage errors in a row one piece of work may meet while the dependency answers its
 * pings at once, before they count as the work's own fault (say, one command too big to finish
 * within the client's timeout): an outage is waited out, a fault is not retried forever.
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
   * Runs `work`; when it fails with StoreUnavailableError (the job store) or
   * ReportStoreUnavailableError (the report store), waits until that store answers (one ping loop
   * per store, shared by all held work) and runs it again. While a store is known to be away, new
   * work waits before it starts. Any other error is `work`'s own and is thrown as it is.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Stops waiting (shutdown): held and waiting work rejects with HoldAbandonedError. */
  abandon(): void;
}

/** One dependency whose outage is waited out: which errors mean it is away, and how to ask it. */
interface Held {
  what: string;
  isOutage(err: unknown): boolean;
  ping(): Promise<void>;
  back: Promise<number> | null;
}

/** The worker's hold: a dependency being away is not the job's fault, so it costs no attempt. */
export function createOutageHold(deps: {
  store: Pick<JobStore, "ping">;
  /** The report store, when it can be away (S3); a directory's errors are the job's. */
  reports?: Pick<ReportStore, "ping">;
  logger: Logger;
}): OutageHold {
  const { logger } = deps;
  const abort = new AbortController();
  let held = 0;
  const dependencies: Held[] = [
    { what: "store", isOutage: (err) => err instanceof StoreUnavailableError, ping: () => deps.store.ping(), back: null },
  ];
  const pingReports = deps.reports?.ping?.bind(deps.reports);
  if (pingReports) {
    dependencies.push({ what: "report store", isOutage: (err) => err instanceof ReportStoreUnavailableError, ping: pingReports, back: null });
  }

  /** Resolves with how many pings failed before `dep` answered (0: it was a blip). */
  const backAgain = (dep: Held): Promise<number> => {
    dep.back ??= (async () => {
      const started = Date.now();
      try {
        const failures = await waitForStore(dep, {
          signal: abort.signal,
          onRetry: (err, n) => {
            if (n === 1) logger.warn({ err: (err as Error).message, held }, `${dep.what} unavailable; holding jobs until it answers`);
          },
        });
        if (failures > 0) logger.info({ ms: Date.now() - started, held }, `${dep.what} answers again; resuming held jobs`);
        return failures;
      } catch {
        throw new HoldAbandonedError();
      } finally {
        dep.back = null;
      }
    })();
    return dep.back;
  };

  return {
    async run(work) {
      for (let blips = 0; ; ) {
        for (const dep of dependencies) if (dep.back) await dep.back;
        try {
          return await work();
        } catch (err) {
          const dep = dependencies.find((d) => d.isOutage(err));
          if (!dep) throw err;
          if (abort.signal.aborted) throw new HoldAbandonedError();
          held++;
          const failures = await backAgain(dep).finally(() => held--);
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
