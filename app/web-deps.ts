import type { Logger } from "../tasks/logger.js";
import { countSubmissions } from "../tasks/metrics-hooks.js";
import type { Model } from "../tasks/model/load.js";
import { createFileReportStore } from "../tasks/report-store/file.js";
import type { ReportStore } from "../tasks/report-store/types.js";
import type { Services } from "../tasks/services.js";
import type { AppConfig } from "./config.js";
import type { AppDeps } from "./create-app.js";
import { createAppMetrics } from "./metrics.js";
import { createSubmissionLimiter } from "./middleware/rate-limit.js";

/** What the web takes of the services: the queue, the store, the job metrics, where the rate limit counts. */
export type WebServices = Pick<Services, "queue" | "store" | "jobMetrics" | "rateLimitStore">;

/**
 * The web app's dependencies on given services, as both entries (web, embedded) and the tests
 * wire them. `reports` is where the PDFs are (REPORT_STORE; the entries make it, the tests may
 * leave it to the file store in RESULTS_DIR). `processMetrics` adds Node's process metrics to
 * /metrics (the entries turn it on).
 */
export function webDeps(
  opts: WebServices & { config: AppConfig; model: Model; logger: Logger; reports?: ReportStore; processMetrics?: boolean },
): AppDeps {
  const { config, model, logger } = opts;
  const reports = opts.reports ?? createFileReportStore(config.RESULTS_DIR);
  return {
    config,
    // Every publish the broker confirmed counts as a submitted job, whichever route submitted it.
    queue: countSubmissions(opts.queue, opts.jobMetrics, { logger }),
    store: opts.store,
    model,
    reports,
    logger,
    // Counted in Redis when there is one, so every web process shares the limit.
    limiter:
      config.RATE_LIMIT_PER_MINUTE > 0
        ? createSubmissionLimiter({ perMinute: config.RATE_LIMIT_PER_MINUTE, store: opts.rateLimitStore, prefix: config.IRIS_NAMESPACE })
        : undefined,
    metrics: createAppMetrics({ queue: opts.queue, jobs: opts.jobMetrics, logger, processMetrics: opts.processMetrics }),
  };
}
