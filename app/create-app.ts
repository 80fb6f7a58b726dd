import { fileURLToPath } from "node:url";
import Koa from "koa";
import { koaBody } from "koa-body";
import serve from "koa-static";
import nunjucks from "nunjucks";
import type { Logger } from "../tasks/logger.js";
import type { Model } from "../tasks/model/load.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { ReportFiles } from "../tasks/report/files.js";
import type { JobStore } from "../tasks/store/types.js";
import type { AppConfig } from "./config.js";
import { errorHandler } from "./errors.js";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { requireApiToken } from "./middleware/api-token.js";
import { createSubmissionLimiter, rateLimitSubmissions } from "./middleware/rate-limit.js";
import { requestLog } from "./middleware/request-log.js";
import { securityHeaders } from "./middleware/security.js";
import { jobRoutes } from "./routes/jobs.js";
import { pageRoutes } from "./routes/pages.js";
import { createJobSubmitter } from "./submit-job.js";

const TEMPLATES = fileURLToPath(new URL("../templates", import.meta.url));
const STATIC = fileURLToPath(new URL("./static", import.meta.url));

/** Everything the web app needs, passed in (no globals). */
export interface AppDeps {
  config: AppConfig;
  queue: JobQueue;
  store: JobStore;
  model: Model;
  files: ReportFiles;
  logger: Logger;
  /** Shared submission counter (Redis in production); a memory one is made when absent. */
  limiter?: RateLimiterAbstract;
}

/** Builds the Koa app: middleware order and routers. Never listens. */
export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = deps.config.TRUST_PROXY;
  // Errors are rendered by errorHandler; Koa's own 'error' event would print stacks to stderr.
  app.silent = true;
  const views = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATES, { noCache: false }), {
    autoescape: true,
  });
  const submitJob = createJobSubmitter({
    queue: deps.queue,
    store: deps.store,
    maxQueueDepth: deps.config.MAX_QUEUE_DEPTH,
  });

  app.use(async (ctx, next) => {
    ctx.state.render = (name: string, context: object) => views.render(name, context);
    await next();
  });
  app.use(requestLog({ logger: deps.logger }));
  app.use(securityHeaders());
  app.use(errorHandler({ logger: deps.logger }));
  app.use(serve(STATIC, { maxage: 3600_000, defer: false, index: false }));
  app.use(requireApiToken(deps.config.API_TOKENS));
  if (deps.config.RATE_LIMIT_PER_MINUTE > 0) {
    const limiter =
      deps.limiter ??
      createSubmissionLimiter({ perMinute: deps.config.RATE_LIMIT_PER_MINUTE, prefix: deps.config.IRIS_NAMESPACE });
    app.use(rateLimitSubmissions(limiter));
  }
  app.use(
    koaBody({
      multipart: true,
      jsonLimit: "1mb",
      formLimit: "64kb",
      formidable: { maxFileSize: 5 * 1024 * 1024, maxFields: 50 },
    }),
  );
  const pages = pageRoutes({ store: deps.store, submitJob: submitJob as never });
  const jobs = jobRoutes({ store: deps.store, files: deps.files });
  for (const router of [pages, jobs]) app.use(router.routes()).use(router.allowedMethods());
  return app;
}
