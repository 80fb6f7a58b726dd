// Web entry (npm run web): the Koa app on RabbitMQ + Redis.
import { createShutdown } from "../tasks/lifecycle.js";
import { createLogger, exitFatal } from "../tasks/logger.js";
import { loadModel } from "../tasks/model/load.js";
import { createReportFiles } from "../tasks/report/files.js";
import { connectServices } from "../tasks/services.js";
import { loadAppConfigOrExit } from "./load-config.js";
import { createSubmissionLimiter } from "./middleware/rate-limit.js";
import { createAppMetrics } from "./metrics.js";
import { startWeb } from "./start-web.js";

const config = loadAppConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: "web" });
if (!config.RABBITMQ_URL || !config.REDIS_URL) {
  exitFatal(logger, "the web process needs RABBITMQ_URL and REDIS_URL (use `npm start` for the embedded mode)");
}
const model = loadModel();
const services = await connectServices(config, logger, { name: `web-${process.pid}`, confirmTimeoutMs: 800 });
const web = await startWeb({
  config,
  queue: services.queue,
  store: services.store,
  model,
  files: createReportFiles(config.RESULTS_DIR),
  logger,
  limiter:
    config.RATE_LIMIT_PER_MINUTE > 0
      ? createSubmissionLimiter({ perMinute: config.RATE_LIMIT_PER_MINUTE, redis: services.redis, prefix: config.IRIS_NAMESPACE })
      : undefined,
  metrics: createAppMetrics({ queue: services.queue, jobs: services.jobMetrics, logger, processMetrics: true }),
});
logger.info({ port: web.port, model: model.version, pid: process.pid }, "web ready");
createShutdown({ logger, timeoutMs: 15_000 })
  .add("stop accepting requests", () => web.close())
  .add("close connections", () => services.close())
  .onSignals();
