import type { Logger } from "./logger.js";
import type { JobMetrics } from "./metrics.js";
import type { JobQueue } from "./queue/types.js";
import type { JobStore, JobUpdate, UpdateOutcome } from "./store/types.js";

/** Most jobs one process tracks as started at once (a job that never finishes here is dropped). */
const MAX_TRACKED = 10_000;

/**
 * A JobStore that records job metrics from the state changes going through it, so the worker
 * and the processor stay as they are. It reports a job as finished (JobMetrics.finished) after
 * the update that wrote its final state: the store applies a final state exactly once (first
 * writer wins), so a redelivered or raced job is never reported twice. (The Redis store counts
 * the outcome itself, inside that update; finished() then only adds the duration.) Queue wait is
 * observed when the first attempt starts (submission → `validating`); duration from the start of
 * the attempt that finished it. Both are in-process observations: a process killed before its
 * metrics flush loses them, never the outcome counts.
 */
export function instrumentStore(
  store: JobStore,
  metrics: JobMetrics,
  opts: { logger: Logger; now?: () => number },
): JobStore {
  const now = opts.now ?? Date.now;
  const started = new Map<string, number>();
  const record = (work: Promise<void>) =>
    work.catch((err) => opts.logger.warn({ err: (err as Error).message }, "could not record job metrics"));

  const wrapped: JobStore = Object.create(store);
  wrapped.update = async (jobid, update) => observe(jobid, update, await store.update(jobid, update));
  wrapped.updateMany = async (jobid, updates) => {
    const outcomes = await store.updateMany(jobid, updates);
    return outcomes.map((outcome, i) => observe(jobid, updates[i]!, outcome));
  };
  return wrapped;

  function observe(jobid: string, update: JobUpdate, outcome: UpdateOutcome | null): UpdateOutcome | null {
    if (!outcome?.applied) return outcome;
    const at = now();
    const { record: rec } = outcome;
    if (update.stage === "validating") {
      if (started.size >= MAX_TRACKED) started.delete(started.keys().next().value!);
      started.set(jobid, at);
      if (rec.attempts <= 1) {
        void record(metrics.queueWait(Math.max(0, at - Date.parse(rec.created_at)) / 1000));
      }
    }
    if (update.state === "SUCCESS" || update.state === "FAILURE") {
      const start = started.get(jobid);
      started.delete(jobid);
      const duration = start === undefined ? undefined : (at - start) / 1000;
      void record(metrics.finished(update.state === "SUCCESS" ? "succeeded" : "failed", duration));
    }
    return outcome;
  }
}

/** A JobQueue that counts every publish the broker confirmed as a submitted job. */
export function countSubmissions(queue: JobQueue, metrics: JobMetrics, opts: { logger: Logger }): JobQueue {
  const wrapped: JobQueue = Object.create(queue);
  wrapped.publish = async (message) => {
    await queue.publish(message);
    void metrics
      .submitted()
      .catch((err) => opts.logger.warn({ err: (err as Error).message }, "could not record job metrics"));
  };
  return wrapped;
}
