import { randomUUID } from "node:crypto";
import type { Measurements } from "../tasks/contract.js";
import { QueueFullError } from "../tasks/errors.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { JobStore } from "../tasks/store/types.js";

/** What submitting needs. */
export interface SubmitDeps {
  queue: JobQueue;
  store: JobStore;
  maxQueueDepth: number;
  now?: () => Date;
}

/**
 * Admission control, then state, then publish with confirm. The state is written first so a
 * worker never sees a job the store does not know; if the publish fails, the job is marked
 * FAILURE and the caller gets 503 (nothing is "accepted" and then lost).
 */
export function createJobSubmitter(deps: SubmitDeps): (input: Measurements) => Promise<string> {
  const now = deps.now ?? (() => new Date());
  return async function submitJob(input) {
    if (deps.maxQueueDepth > 0) {
      const { messages } = await deps.queue.stats();
      if (messages >= deps.maxQueueDepth) throw new QueueFullError(5);
    }
    const jobid = randomUUID();
    const at = now().toISOString();
    await deps.store.create({
      jobid,
      state: "PENDING",
      progress: 0,
      stage: "queued",
      input,
      attempts: 0,
      created_at: at,
      updated_at: at,
    });
    try {
      await deps.queue.publish({ jobid, input, submitted_at: at });
    } catch (err) {
      const outcome = await deps.store
        .update(jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "The job could not be queued." })
        .catch(() => null);
      // The confirm was lost but the broker had the job and a worker already finished it:
      // it was accepted after all, so say so instead of inviting a duplicate retry.
      if (outcome && !outcome.applied && outcome.record.state === "SUCCESS") return jobid;
      throw err;
    }
    return jobid;
  };
}
