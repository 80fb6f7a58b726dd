import { jobIdSchema, jobMessageSchema, STAGES, type JobMessage } from "./contract.js";
import type { Logger } from "./logger.js";
import { StoreUnavailableError } from "./errors.js";
import { createOutageHold, HoldAbandonedError } from "./outage-hold.js";
import type { Consumer, Delivery, JobQueue, Outcome } from "./queue/types.js";
import { ReportStoreError } from "./report-store/errors.js";
import type { ReportStore } from "./report-store/types.js";
import type { JobStore } from "./store/types.js";

/** What consuming jobs needs. */
export interface WorkerDeps {
  queue: JobQueue;
  store: JobStore;
  /** The report store, whose outages are held like the job store's. */
  reports?: Pick<ReportStore, "ping">;
  processJob: (msg: JobMessage, attempt: number) => Promise<void>;
  logger: Logger;
  concurrency: number;
  maxAttempts: number;
}

/**
 * Consumes jobs: parse → process → ack; poison → dead-letter; failures retried up to maxAttempts.
 * A store (job store or report store) being away is not a job's fault: the delivery is held (not
 * settled, so the broker's delivery count does not move) until it answers, then run again as the
 * same attempt.
 */
export async function consumeJobs(deps: WorkerDeps): Promise<{ close(): Promise<void> }> {
  const { queue, store, processJob, logger, maxAttempts } = deps;
  const hold = createOutageHold({ store, reports: deps.reports, logger });

  /** Writes the job's FAILURE, waiting out a store outage: a dead-lettered job must not stay non-terminal. */
  const fail = (jobid: string, error: string) =>
    hold.run(() => store.update(jobid, { state: "FAILURE", stage: "failed", progress: STAGES.done, error }));

  async function handle(delivery: Delivery): Promise<Outcome> {
    try {
      return await settle(delivery);
    } catch (err) {
      if (!(err instanceof HoldAbandonedError)) throw err;
      // Shutting down during an outage: the job goes back to the queue for the next worker.
      logger.warn("worker stopping while the store is away; returning the job to the queue");
      return "retry";
    }
  }

  async function settle({ body, attempt }: Delivery): Promise<Outcome> {
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString("utf8"));
    } catch {
      logger.warn({ bytes: body.length }, "unparseable job message; dead-lettering");
      return "dead";
    }
    const parsed = jobMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = jobIdSchema.safeParse((raw as { jobid?: unknown } | null)?.jobid);
      logger.warn({ jobId: id.success ? id.data : undefined }, "invalid job message; dead-lettering");
      if (id.success) {
        await fail(id.data, "The job's data was invalid and could not be processed.").catch((err) => {
          if (err instanceof HoldAbandonedError) throw err;
          logger.error({ err, jobId: id.data }, "could not record the failure of an invalid job");
        });
      }
      return "dead";
    }
    const msg = parsed.data;
    if (attempt > maxAttempts) {
      // The broker's delivery limit (x-delivery-limit = maxAttempts) allows one delivery more than
      // we process: it arrives only when every earlier attempt died without settling (a worker
      // killed mid-job each time). Record the failure so the user sees a final state.
      logger.error({ jobId: msg.jobid, attempt }, "job lost its worker on every attempt; dead-lettering");
      try {
        await fail(msg.jobid, `The report could not be produced: the job was interrupted ${maxAttempts} times.`);
      } catch (err) {
        if (err instanceof HoldAbandonedError) throw err;
        logger.error({ err, jobId: msg.jobid }, "could not record the failure; dead-lettering all the same");
      }
      return "dead";
    }
    try {
      await hold.run(() => processJob(msg, attempt));
      return "ack";
    } catch (err) {
      if (err instanceof HoldAbandonedError) throw err;
      const log = logger.child({ jobId: msg.jobid, attempt });
      if (attempt >= maxAttempts) {
        log.error({ err }, "job failed on its last attempt; dead-lettering");
        const reason = `The report could not be produced after ${attempt} attempts: ${describe(err)}`;
        try {
          await fail(msg.jobid, reason);
        } catch (storeErr) {
          if (storeErr instanceof HoldAbandonedError) throw storeErr;
          // Not an outage (that was waited out) but a store fault: keep the message so the next delivery records it.
          log.error({ err: storeErr }, "could not record the failure; requeueing");
          return "retry";
        }
        return "dead";
      }
      log.warn({ err }, "job attempt failed; requeueing");
      return "retry";
    }
  }

  const consumer: Consumer = await queue.consume(handle, { concurrency: deps.concurrency });
  return {
    async close() {
      hold.abandon();
      await consumer.stop();
    },
  };
}

/** A short reason a person can read, without stack or paths. */
function describe(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  if (code === "EACCES" || code === "EROFS" || code === "ENOENT" || code === "ENOSPC" || code === "ENOTDIR") {
    return "the report could not be saved on the server.";
  }
  if (err instanceof ReportStoreError) return "the report could not be saved on the server.";
  if (err instanceof StoreUnavailableError) return "the job store kept failing.";
  return "an internal error occurred.";
}
