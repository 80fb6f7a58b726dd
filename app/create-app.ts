import { fileURLToPath } from "node:url";
import Koa from "koa";
import { koaBody } from "koa-body";
import serve from "koa-static";
import nunjucks from "nunjucks";
import type { Logger } from "../tasks/logger.js";
import { countSubmissions } from "../tasks/metrics-hooks.js";
import { createMemoryJobMetrics } from "../tasks/metrics.js";
import type { Model } from "../tasks/model/load.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { ReportFiles } from "../tasks/report/files.js";
import type { JobStore } from "../tasks/store/types.js";
import type { AppConfig } from "./config.js";
import { errorHandler } from "./errors.js";
import { createAppMetrics, type AppMetrics } from "./metrics.js";
import { requestLog } from "./middleware/request-log.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { jobRoutes } from "./routes/jobs.js";
import { opsRoutes } from "./routes/ops.js";
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
  /** Prometheus instruments and the deployment's job metrics; in-memory ones when left out. */
  metrics?: AppMetrics;
}

/** Builds the Koa app: middleware order and routers. Never listens. */
export function createApp(deps: AppDeps): Koa {
  const metrics =
    deps.metrics ?? createAppMetrics({ queue: deps.queue, jobs: createMemoryJobMetrics(), logger: deps.logger });
  // Every publish the broker confirmed counts as a submitted job, whichever route submitted it.
  deps = { ...deps, queue: countSubmissions(deps.queue, metrics.jobs, { logger: deps.logger }) };
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
  app.use(metrics.httpMiddleware());
  app.use(errorHandler({ logger: deps.logger }));
  app.use(serve(STATIC, { maxage: 3600_000, defer: false, index: false }));
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
  const ops = opsRoutes({ queue: deps.queue, store: deps.store, metrics });
  app.use(ops.routes()).use(ops.allowedMethods());
  if (deps.config.DASHBOARD) {
    const dashboard = dashboardRoutes({ queue: deps.queue, store: deps.store, metrics, tokens: deps.config.API_TOKENS });
    app.use(dashboard.routes()).use(dashboard.allowedMethods());
  }
  return app;
}
