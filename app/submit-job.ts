import { createHash, randomUUID } from "node:crypto";
import type { Measurements } from "../tasks/contract.js";
import { QueueFullError } from "../tasks/errors.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { JobStore } from "../tasks/store/types.js";
import { HttpError } from "./errors.js";

/** What submitting needs. */
export interface SubmitDeps {
  queue: JobQueue;
  store: JobStore;
  maxQueueDepth: number;
  now?: () => Date;
}

/** A job to submit: one flower, or a batch of them (one job, one report). */
export type JobPayload = { input: Measurements } | { inputs: Measurements[] };

/** The outcome of a submission: the job's id, and whether an earlier submission with the same key made it. */
export interface Submission {
  jobid: string;
  replayed: boolean;
}

/**
 * Admission control, then state, then publish with confirm. The state is written first so a
 * worker never sees a job the store does not know; if the publish fails, the job is marked
 * FAILURE and the caller gets 503 (nothing is "accepted" and then lost).
 *
 * With an idempotency key, the key is claimed first (atomically, in the store): a retry of the
 * same request gets the first submission's id and queues nothing; the same key with a different
 * request is refused with 422. A submission that fails frees its key so the retry can succeed.
 */
export function createSubmitter(deps: SubmitDeps) {
  const now = deps.now ?? (() => new Date());
  const depth = queueDepthEstimate(deps.queue);
  return async function submit(payload: JobPayload, opts: { idempotencyKey?: string } = {}): Promise<Submission> {
    const jobid = randomUUID();
    let claim: string | undefined;
    if (opts.idempotencyKey !== undefined) {
      claim = `${jobid} ${fingerprint(payload)}`;
      const held = await deps.store.claimIdempotencyKey(opts.idempotencyKey, claim);
      if (held !== null) {
        const [earlier, print] = held.split(" ");
        if (print !== fingerprint(payload)) {
          throw new HttpError(422, "This Idempotency-Key was already used with a different request.", [
            { field: "Idempotency-Key", message: "Use a new key for a new request." },
          ]);
        }
        return { jobid: earlier!, replayed: true };
      }
    }
    try {
      await enqueue(jobid, payload);
    } catch (err) {
      if (claim) await deps.store.releaseIdempotencyKey(opts.idempotencyKey!, claim).catch(() => {});
      throw err;
    }
    return { jobid, replayed: false };
  };

  /** Creates the job's state and publishes it; resolves once the broker has it. */
  async function enqueue(jobid: string, payload: JobPayload): Promise<void> {
    if (deps.maxQueueDepth > 0 && (await depth.estimate()) >= deps.maxQueueDepth) throw new QueueFullError(5);
    const at = now().toISOString();
    await deps.store.create({
      jobid,
      state: "PENDING",
      progress: 0,
      stage: "queued",
      ...("inputs" in payload ? { batch_size: payload.inputs.length } : { input: payload.input }),
      attempts: 0,
      created_at: at,
      updated_at: at,
    });
    try {
      await deps.queue.publish({ jobid, ...payload, submitted_at: at });
      depth.published();
    } catch (err) {
      const outcome = await deps.store
        .update(jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "The job could not be queued." })
        .catch(() => null);
      // The confirm was lost but the broker had the job and a worker already finished it:
      // it was accepted after all, so say so instead of inviting a duplicate retry.
      if (outcome && !outcome.applied && outcome.record.state === "SUCCESS") return;
      throw err;
    }
  }
}

/** How long a broker-reported queue depth is trusted before asking again. */
const DEPTH_MAX_AGE_MS = 250;

/**
 * The queue depth for admission control without a broker round trip per submission: the last
 * depth the broker reported (at most DEPTH_MAX_AGE_MS old) plus what this process published
 * since. Consumers draining meanwhile only make it cautious, never lax, for this process.
 */
function queueDepthEstimate(queue: JobQueue) {
  let known = 0;
  let since = 0;
  let at = -Infinity;
  let asking: Promise<void> | null = null;
  return {
    async estimate(): Promise<number> {
      if (performance.now() - at > DEPTH_MAX_AGE_MS) {
        asking ??= queue
          .stats()
          .then(({ messages }) => {
            known = messages;
            since = 0;
            at = performance.now();
          })
          .finally(() => (asking = null));
        await asking;
      }
      return known + since;
    },
    published() {
      since++;
    },
  };
}

/** What makes two submissions "the same request" for an idempotency key. */
function fingerprint(payload: JobPayload): string {
  return createHash("sha256").update(JSON.stringify(payload)).digest("hex").slice(0, 32);
}
