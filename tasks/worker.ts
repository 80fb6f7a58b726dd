import { jobIdSchema, jobMessageSchema, STAGES, type JobMessage } from "./contract.js";
import type { Logger } from "./logger.js";
import type { Consumer, JobQueue, Outcome } from "./queue/types.js";
import type { JobStore } from "./store/types.js";

/** What a worker needs. */
export interface WorkerDeps {
  queue: JobQueue;
  store: JobStore;
  processJob: (msg: JobMessage, attempt: number) => Promise<void>;
  logger: Logger;
  concurrency: number;
  maxAttempts: number;
}

/** Consumes jobs: parse → process → ack; poison → dead-letter; failures retried up to maxAttempts. */
export async function startWorker(deps: WorkerDeps): Promise<{ close(): Promise<void> }> {
  const { queue, store, processJob, logger, maxAttempts } = deps;

  const fail = async (jobid: string, error: string) => {
    await store.update(jobid, { state: "FAILURE", stage: "failed", progress: STAGES.done, error });
  };

  async function handle({ body, attempt }: { body: Buffer; attempt: number }): Promise<Outcome> {
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
      if (id.success) await fail(id.data, "The job's data was invalid and could not be processed.").catch(() => {});
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
      } catch {
        return "retry";
      }
      return "dead";
    }
    try {
      await processJob(msg, attempt);
      return "ack";
    } catch (err) {
      const log = logger.child({ jobId: msg.jobid, attempt });
      if (attempt >= maxAttempts) {
        log.error({ err }, "job failed on its last attempt; dead-lettering");
        const reason = `The report could not be produced after ${attempt} attempts: ${describe(err)}`;
        try {
          await fail(msg.jobid, reason);
        } catch (storeErr) {
          // The state could not be saved: keep the message so the next delivery records it.
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
  return "an internal error occurred.";
}
