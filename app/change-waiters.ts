/** Why a wait for a job's change ended. */
export type Wake = "change" | "gap" | "timeout" | "aborted" | "closed";

/** One request's interest in one job's changes, from watch() until release(). */
export interface ChangeWatch {
  /**
   * Resolves on the job's next change (or one heard since the last call), a feed gap, the cache
   * closing, the signal aborting, or after `timeoutMs`, saying which.
   */
  next(timeoutMs: number, signal?: AbortSignal): Promise<Wake>;
  /** Frees the watch (idempotent); every watch must be released, which `finally` does. */
  release(): void;
}

/** Which of two pending wakes a later next() reports: the one that asks most of the caller. */
const WEIGHT: Record<Wake, number> = { change: 1, timeout: 0, aborted: 0, gap: 2, closed: 3 };

/**
 * The waiting requests of one web process, by job, at most `max` at a time: each holds a
 * connection, so the cap keeps long polls from using up the process's file descriptors.
 */
export function createChangeWaiters(max: number) {
  const byJob = new Map<string, Set<(wake: Wake) => void>>();
  let count = 0;
  let closed = false;
  const wakeAll = (wake: "gap" | "closed") => {
    for (const set of byJob.values()) for (const wakeOne of [...set]) wakeOne(wake);
  };

  return {
    /** A watch on `jobid`, or null when `max` requests already wait (or the waiters are closed). */
    watch(jobid: string): ChangeWatch | null {
      if (closed || count >= max) return null;
      let pending: Wake | null = null;
      let finish: ((wake: Wake) => void) | null = null;
      const onWake = (wake: Wake) => {
        if (finish) finish(wake);
        else if (!pending || WEIGHT[wake] > WEIGHT[pending]) pending = wake;
      };
      let set = byJob.get(jobid);
      if (!set) byJob.set(jobid, (set = new Set()));
      set.add(onWake);
      count++;
      let released = false;
      return {
        next(timeoutMs, signal) {
          if (closed) return Promise.resolve<Wake>("closed");
          if (pending) {
            const wake = pending;
            pending = null;
            return Promise.resolve(wake);
          }
          if (signal?.aborted) return Promise.resolve<Wake>("aborted");
          return new Promise<Wake>((resolve) => {
            const timer = setTimeout(() => finish?.("timeout"), Math.max(0, timeoutMs));
            const onAbort = () => finish?.("aborted");
            signal?.addEventListener("abort", onAbort, { once: true });
            finish = (wake) => {
              finish = null;
              clearTimeout(timer);
              signal?.removeEventListener("abort", onAbort);
              resolve(wake);
            };
          });
        },
        release() {
          if (released) return;
          released = true;
          finish?.("closed");
          set!.delete(onWake);
          if (set!.size === 0 && byJob.get(jobid) === set) byJob.delete(jobid);
          count--;
        },
      };
    },
    /** Wakes the requests waiting for `jobid`. */
    changed(jobid: string): void {
      const set = byJob.get(jobid);
      if (set) for (const wakeOne of [...set]) wakeOne("change");
    },
    /** Wakes every waiting request: the feed may have missed changes, so each reads the store. */
    gap: () => wakeAll("gap"),
    /** Wakes every waiting request to answer now, and refuses new ones (shutdown). */
    close(): void {
      closed = true;
      wakeAll("closed");
    },
    /** How many requests wait now. */
    get size() {
      return count;
    },
  };
}

/** The waiting requests of one web process (see createChangeWaiters). */
export type ChangeWaiters = ReturnType<typeof createChangeWaiters>;
