// Web entry (npm run web): the Koa app on RabbitMQ + Redis. Listens first, then waits for them
// (start in any order): /healthz answers at once, /readyz and requests say 503 until they answer.
import { redisTarget } from "../tasks/config.js";
import { createShutdown } from "../tasks/lifecycle.js";
import { createLogger, exitFatal } from "../tasks/logger.js";
import { loadModel } from "../tasks/model/load.js";
import { createReportStore } from "../tasks/report-store/create.js";
import { connectServices, dependencyChecks } from "../tasks/services.js";
import { waitForDependencies } from "../tasks/wait-for-dependencies.js";
import { loadAppConfigOrExit } from "./load-config.js";
import { startWeb } from "./start-web.js";
import { webDeps } from "./web-deps.js";

const config = loadAppConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: "web" });
if (!config.RABBITMQ_URL || !redisTarget(config)) {
  exitFatal(logger, "the web process needs RABBITMQ_URL and REDIS_URL or REDIS_SENTINELS (use `npm start` for the embedded mode)");
}
const model = loadModel();
const services = await connectServices(config, logger, {
  name: `web-${process.pid}`,
  onFatal: (message) => exitFatal(logger, message),
});
const reports = await createReportStore(config);
const web = await startWeb(webDeps({ ...services, reports, config, model, logger, processMetrics: true }));
logger.info({ port: web.port, model: model.version, pid: process.pid }, "web listening");
const waiting = new AbortController();
createShutdown({ logger, timeoutMs: 15_000 })
  .add("stop waiting for dependencies", () => waiting.abort())
  .add("stop accepting requests", () => web.close())
  .add("close connections", () => Promise.all([services.close(), reports.close()]))
  .onSignals();
// "web ready" means usable: both answer and socket.io relays job changes (the change feed is live).
await waitForDependencies({
  checks: dependencyChecks(services, { changeFeed: web.live, reports }),
  logger,
  signal: waiting.signal,
}).then(
  () => logger.info({ port: web.port, model: model.version, pid: process.pid }, "web ready"),
  () => {}, // aborted: shutting down before the dependencies answered
);
