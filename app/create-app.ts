import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Koa from "koa";
import serve from "koa-static";
import nunjucks from "nunjucks";
import type { Logger } from "../tasks/logger.js";
import type { Model } from "../tasks/model/load.js";
import type { JobQueue } from "../tasks/queue/types.js";
import type { ReportStore } from "../tasks/report-store/types.js";
import type { JobStore } from "../tasks/store/types.js";
import type { AppConfig } from "./config.js";
import type { JobCache } from "./job-cache.js";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { errorHandler } from "./errors.js";
import { methodNotAllowed } from "./http-errors.js";
import type { AppMetrics } from "./metrics.js";
import { rateLimitSubmissions } from "./middleware/rate-limit.js";
import { discardUnreadBody } from "./middleware/discard-body.js";
import { requestLog } from "./middleware/request-log.js";
import { securityHeaders } from "./middleware/security.js";
import { swaggerAssets } from "./routes/api-docs.js";
import { routeTable } from "./routes/table.js";
import { createSubmitter } from "./submit-job.js";

const TEMPLATES = fileURLToPath(new URL("../templates", import.meta.url));
const STATIC = fileURLToPath(new URL("./static", import.meta.url));

/** Everything the web app needs, passed in (no globals); app/web-deps.ts wires it from the services. */
export interface AppDeps {
  config: AppConfig;
  /** The job queue, each confirmed publish counted as a submitted job. */
  queue: JobQueue;
  store: JobStore;
  model: Model;
  /** Where reports are read from (REPORT_STORE). */
  reports: ReportStore;
  logger: Logger;
  /** The submission counter, when RATE_LIMIT_PER_MINUTE is set. */
  limiter?: RateLimiterAbstract;
  /** Prometheus instruments and the deployment's job metrics. */
  metrics: AppMetrics;
  /** The status routes' job cache (startWeb makes and closes one); made on `store` when absent. */
  jobs?: JobCache;
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
  // One submitter (one admission-control view of the queue) for the form and the API.
  const submit = createSubmitter({ queue: deps.queue, store: deps.store, maxQueueDepth: deps.config.MAX_QUEUE_DEPTH });

  app.use(async (ctx, next) => {
    ctx.state.render = (name: string, context: object) => views.render(name, context);
    await next();
  });
  app.use(requestLog({ logger: deps.logger }));
  app.use(deps.metrics.httpMiddleware());
  app.use(securityHeaders());
  app.use(discardUnreadBody());
  app.use(errorHandler({ logger: deps.logger }));
  const assets = serve(STATIC, { maxage: 3600_000, defer: false, index: false });
  // Only our own files go to koa-static: every other path (API calls, /result, traversal attempts)
  // reaches the routers without a filesystem look-up, and never koa-send's 403.
  const staticFiles = new Set(readdirSync(STATIC, { recursive: true, encoding: "utf8" }).map((f) => `/${f}`));
  app.use((ctx, next) => (staticFiles.has(ctx.path) ? assets(ctx, next) : next()));
  app.use(swaggerAssets());
  const limit = deps.limiter && rateLimitSubmissions(deps.limiter);
  const table = routeTable({ ...deps, submit, limit });
  // Wrong (or unknown) methods throw 405 into errorHandler, so they get the JSON error contract too.
  app.use(table.routes()).use(table.allowedMethods({ throw: true, methodNotAllowed, notImplemented: methodNotAllowed }));
  return app;
}
