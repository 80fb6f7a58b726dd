// Web entry (npm run web): the Koa app on RabbitMQ + Redis.
import { createShutdown } from "../tasks/lifecycle.js";
import { createLogger, exitFatal } from "../tasks/logger.js";
import { loadModel } from "../tasks/model/load.js";
import { connectServices } from "../tasks/services.js";
import { loadAppConfigOrExit } from "./load-config.js";
import { startWeb } from "./start-web.js";
import { webDeps } from "./web-deps.js";

const config = loadAppConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: "web" });
if (!config.RABBITMQ_URL || !config.REDIS_URL) {
  exitFatal(logger, "the web process needs RABBITMQ_URL and REDIS_URL (use `npm start` for the embedded mode)");
}
const model = loadModel();
const services = await connectServices(config, logger, { name: `web-${process.pid}`, confirmTimeoutMs: 800 });
const web = await startWeb(webDeps({ config, services, model, logger }));
logger.info({ port: web.port, model: model.version, pid: process.pid }, "web ready");
createShutdown({ logger, timeoutMs: 15_000 })
  .add("stop accepting requests", () => web.close())
  .add("close connections", () => services.close())
  .onSignals();
