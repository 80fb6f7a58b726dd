// `npm start`: web and one worker in one process. With RABBITMQ_URL and REDIS_URL set it uses
// them; with neither it runs on the in-memory queue and store, and says so.
import { redisTarget } from "../tasks/config.js";
import { createShutdown } from "../tasks/lifecycle.js";
import { createLogger, exitFatal } from "../tasks/logger.js";
import { loadModel } from "../tasks/model/load.js";
import { createReportStore } from "../tasks/report-store/create.js";
import { connectServices, dependencyChecks, memoryServices } from "../tasks/services.js";
import { startWorker } from "../tasks/start-worker-process.js";
import { waitForDependencies } from "../tasks/wait-for-dependencies.js";
import { loadAppConfigOrExit } from "./load-config.js";
import { startWeb } from "./start-web.js";
import { webDeps } from "./web-deps.js";

const config = loadAppConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: "embedded" });
const model = loadModel();
const redis = redisTarget(config);
const distributed = Boolean(config.RABBITMQ_URL && redis);
if (!distributed && (config.RABBITMQ_URL || redis)) {
  exitFatal(logger, "set both RABBITMQ_URL and REDIS_URL (or REDIS_SENTINELS), or neither for the embedded in-memory mode");
}
const services = distributed
  ? await connectServices(config, logger, {
      name: `embedded-${process.pid}`,
      onFatal: (message) => exitFatal(logger, message),
    })
  : memoryServices(config);
const reports = await createReportStore(config);
// On RabbitMQ and Redis, wait for them as the worker does (the memory adapters answer at once).
if (distributed || reports.ping) await waitForDependencies({ checks: dependencyChecks(services, { reports }), logger });
const worker = await startWorker({ config, services, model, reports, logger });
const web = await startWeb(webDeps({ ...services, reports, config, model, logger, processMetrics: true }));
logger.info(
  { port: web.port, model: model.version, services: services.kind },
  distributed
    ? `embedded mode: web and one worker in one process on RabbitMQ and Redis, http://localhost:${web.port}`
    : `embedded mode: web and one worker in one process on in-memory queue and store (no RabbitMQ/Redis), http://localhost:${web.port}`,
);
createShutdown({ logger, timeoutMs: 15_000 })
  .add("stop accepting requests", () => web.close())
  .add("stop the worker", () => worker.close())
  .add("close connections", () => Promise.all([services.close(), reports.close()]))
  .onSignals();
