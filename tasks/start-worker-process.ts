import pLimit from "p-limit";
import type { TaskConfig } from "./config.js";
import type { Logger } from "./logger.js";
import { instrumentStore } from "./metrics-hooks.js";
import type { Model } from "./model/load.js";
import { createJobProcessor } from "./process-job.js";
import { renderBatchReport, type BatchReportData } from "./report/render-batch.js";
import { renderReport } from "./report/render.js";
import type { ReportStore } from "./report-store/types.js";
import type { Services } from "./services.js";
import { consumeJobs } from "./worker.js";

/** How often a worker sweeps expired PDFs: a quarter of the TTL, between 1 s and 10 min. */
const sweepIntervalMs = (ttlSeconds: number) => Math.min(10 * 60_000, Math.max(1000, (ttlSeconds * 1000) / 4));

/**
 * `render` (the batch renderer), at most `limit` calls at a time; the rest wait in order. Big
 * batch reports are the one part of a job whose memory grows with its input, so this bounds a
 * worker's memory however many jobs it has in flight.
 */
export function limitBatchRenders(
  limit: number,
  render: (data: BatchReportData) => Promise<Buffer> = renderBatchReport,
): (data: BatchReportData) => Promise<Buffer> {
  const slots = pLimit(limit);
  return (data) => slots(() => render(data));
}

/** Starts a whole worker on given services: the job processor, its consumer (consumeJobs), the PDF sweep. Returns its close(). */
export async function startWorker(deps: {
  config: TaskConfig;
  services: Services;
  model: Model;
  /** Where reports go (REPORT_STORE), made by the entry file. */
  reports: ReportStore;
  logger: Logger;
}): Promise<{ close(): Promise<void> }> {
  const { config, services, model, reports, logger } = deps;
  // Job metrics are recorded from the state changes the worker makes (see metrics-hooks.ts).
  const store = instrumentStore(services.store, services.jobMetrics, { logger });
  const renderBatch = limitBatchRenders(config.WORKER_BATCH_CONCURRENCY);
  const processJob = createJobProcessor({ store, model, reports, render: renderReport, renderBatch, logger });
  const worker = await consumeJobs({
    queue: services.queue,
    store,
    reports,
    processJob,
    logger,
    concurrency: config.WORKER_CONCURRENCY,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
  });
  // One sweep at a time: listing a large bucket can outlast the interval.
  let sweeping: Promise<unknown> | null = null;
  const sweep = () =>
    (sweeping ??= reports
      .sweep(config.RESULT_TTL_SECONDS * 1000)
      .then((removed) => removed && logger.info({ removed, store: reports.name }, "swept expired reports"))
      .catch((err) => logger.warn({ err: (err as Error).message, store: reports.name }, "report sweep failed"))
      .finally(() => (sweeping = null)));
  const timer = setInterval(sweep, sweepIntervalMs(config.RESULT_TTL_SECONDS));
  timer.unref();
  void sweep();
  return {
    async close() {
      clearInterval(timer);
      await worker.close();
    },
  };
}
