import { createHash, randomUUID } from "node:crypto";
import type { Measurements } from "../tasks/contract.js";
import { QueueFullError } from "../tasks/errors.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { JobStore } from "../tasks/store/types.js";
import { HttpError, IdempotencyConflictError } from "./http-errors.js";

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
 * How long an in-progress idempotency claim lives if its submission never finishes (the web
 * process crashed between claim and confirm). Far above the broker-confirm timeout, so a live
 * submission always confirms or releases its claim first.
 */
const IN_PROGRESS_CLAIM_SECONDS = 30;

/**
 * Admission control, then state, then publish with confirm. The state is written first so a
 * worker never sees a job the store does not know; if the publish fails, the job is marked
 * FAILURE and the caller gets 503 (nothing is "accepted" and then lost).
 *
 * With an idempotency key (as in the IETF httpapi Idempotency-Key draft and Stripe's API), the key
 * is first claimed atomically as "in progress" (job id + request fingerprint, for
 * IN_PROGRESS_CLAIM_SECONDS), and turned into "done" for the retention period only once the
 * broker confirmed the job. A request finding it in progress gets IdempotencyConflictError (409,
 * Retry-After: 1), one finding it done gets the same id (a replay, nothing queued), the same key
 * with a different request 422. A submission that fails releases its claim, so the retry can go
 * through: an id is only ever handed out for a job that was accepted.
 */
export function createSubmitter(deps: SubmitDeps) {
  const now = deps.now ?? (() => new Date());
  const depth = queueDepthEstimate(deps.queue);
  return async function submit(payload: JobPayload, opts: { idempotencyKey?: string } = {}): Promise<Submission> {
    const jobid = randomUUID();
    const key = opts.idempotencyKey;
    if (key === undefined) {
      await enqueue(jobid, payload);
      return { jobid, replayed: false };
    }
    const print = fingerprint(payload);
    const claim = inProgress(jobid, print);
    const held = await deps.store.claimIdempotencyKey(key, claim, { ttlSeconds: IN_PROGRESS_CLAIM_SECONDS });
    if (held !== null) {
      const earlier = parseClaim(held);
      if (earlier.print !== print) {
        throw new HttpError(422, "This Idempotency-Key was already used with a different request.", [
          { field: "Idempotency-Key", message: "Use a new key for a new request." },
        ]);
      }
      if (earlier.inProgress) throw new IdempotencyConflictError(1);
      return { jobid: earlier.jobid, replayed: true };
    }
    try {
      await enqueue(jobid, payload);
    } catch (err) {
      await deps.store.releaseIdempotencyKey(key, claim).catch(() => {});
      throw err;
    }
    // The job is accepted whatever happens here: if the claim cannot be confirmed (the store is
    // unreachable, or the claim expired), retries get 409 until it expires and may then queue a
    // second job, but this answer's id is real.
    await deps.store.confirmIdempotencyKey(key, claim, done(jobid, print)).catch(() => false);
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

/**
 * An idempotency key's value: `<jobid> <fingerprint>` once the job was accepted (the format keys
 * had before claims could be in progress, so those still replay), prefixed `pending ` before.
 */
const inProgress = (jobid: string, print: string) => `pending ${jobid} ${print}`;
const done = (jobid: string, print: string) => `${jobid} ${print}`;
function parseClaim(value: string): { jobid: string; print: string; inProgress: boolean } {
  const parts = value.split(" ");
  const pending = parts[0] === "pending";
  const [jobid = "", print = ""] = pending ? parts.slice(1) : parts;
  return { jobid, print, inProgress: pending };
}

/** What makes two submissions "the same request" for an idempotency key. */
function fingerprint(payload: JobPayload): string {
  return createHash("sha256").update(JSON.stringify(payload)).digest("hex").slice(0, 32);
}
