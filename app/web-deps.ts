import type { Logger } from "../tasks/logger.js";
import type { Model } from "../tasks/model/load.js";
import type { ReportStore } from "../tasks/report-store/types.js";
import type { Services } from "../tasks/services.js";
import type { AppConfig } from "./config.js";
import type { AppDeps } from "./create-app.js";
import { createAppMetrics } from "./metrics.js";
import { createSubmissionLimiter } from "./middleware/rate-limit.js";

/** The web app's dependencies on given services, as both entries (web, embedded) wire them. */
export function webDeps(opts: {
  config: AppConfig;
  services: Services;
  reports: ReportStore;
  model: Model;
  logger: Logger;
}): AppDeps {
  const { config, services, reports, model, logger } = opts;
  return {
    config,
    queue: services.queue,
    store: services.store,
    model,
    reports,
    logger,
    // Counted in Redis when there is one, so every web process shares the limit.
    limiter:
      config.RATE_LIMIT_PER_MINUTE > 0
        ? createSubmissionLimiter({ perMinute: config.RATE_LIMIT_PER_MINUTE, redis: services.redis, prefix: config.IRIS_NAMESPACE })
        : undefined,
    metrics: createAppMetrics({ queue: services.queue, jobs: services.jobMetrics, logger, processMetrics: true }),
  };
}
