// Worker entry: loadConfig → adapters → health endpoint → wait for RabbitMQ and Redis → worker →
// shutdown steps (npm run worker). Started before its dependencies, it waits for them (start in
// any order) and only then consumes and logs "worker ready".
import { loadConfig, redisTarget } from "./config.js";
import { startHealthServer } from "./health-server.js";
import { createShutdown } from "./lifecycle.js";
import { createLogger, exitFatal } from "./logger.js";
import { loadModel } from "./model/load.js";
import { createReportStore } from "./report-store/create.js";
import { connectServices, dependencyChecks } from "./services.js";
import { lowerPriority } from "./priority.js";
import { startWorker } from "./start-worker-process.js";
import { waitForDependencies } from "./wait-for-dependencies.js";

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
const logger = createLogger({ level: config.LOG_LEVEL, name: "worker" });
if (!config.RABBITMQ_URL || !redisTarget(config)) {
  exitFatal(logger, "the worker needs RABBITMQ_URL and REDIS_URL or REDIS_SENTINELS (use `npm start` for the embedded mode)");
}
lowerPriority(config.WORKER_NICE, logger);
const model = loadModel();
const services = await connectServices(config, logger, {
  name: `worker-${process.pid}`,
  onFatal: (message) => exitFatal(logger, message),
});
const reports = await createReportStore(config);
const health = config.WORKER_HEALTH_PORT ? await startHealthServer({ port: config.WORKER_HEALTH_PORT, logger }) : null;
let worker: { close(): Promise<void> } | null = null;
const waiting = new AbortController();
createShutdown({ logger, timeoutMs: 30_000 })
  .add("stop waiting for dependencies", () => waiting.abort())
  .add("stop consuming and finish in-flight jobs", () => worker?.close())
  .add("close connections", () => Promise.all([services.close(), reports.close()]))
  .add("stop the health endpoint", () => health?.close())
  .onSignals();
const ready = await waitForDependencies({ checks: dependencyChecks(services, { reports }), logger, signal: waiting.signal }).then(
  () => true,
  () => false, // aborted: shutting down before the dependencies answered
);
if (ready) {
  worker = await startWorker({ config, services, model, reports, logger });
  logger.info(
    { concurrency: config.WORKER_CONCURRENCY, model: model.version, pid: process.pid, nice: config.WORKER_NICE },
    "worker ready",
  );
}
