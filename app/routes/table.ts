import type Router from "@koa/router";
import type { Middleware } from "koa";
import type { Model } from "../../tasks/model/load.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import type { ReportStore } from "../../tasks/report-store/types.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { AppConfig } from "../config.js";
import { requireApiToken } from "../guards/api-token.js";
import { createJobCache, type JobCache } from "../job-cache.js";
import { formTokens } from "../guards/form-token.js";
import type { AppMetrics } from "../metrics.js";
import type { JobPayload, Submission } from "../submit-job.js";
import { apiDocsRoutes } from "./api-docs.js";
import { dashboardRoutes } from "./dashboard.js";
import { jobRoutes } from "./jobs.js";
import { opsRoutes } from "./ops.js";
import { formPage, pageRoutes } from "./pages.js";
import { predictApiRoutes } from "./predict-api.js";
import { predictPostRoutes } from "./predict-post.js";
import { createRouter } from "./router.js";

/** What the routes need. */
export interface RouteDeps {
  config: AppConfig;
  queue: JobQueue;
  store: JobStore;
  model: Model;
  reports: ReportStore;
  metrics: AppMetrics;
  submit: (payload: JobPayload, opts?: { idempotencyKey?: string }) => Promise<Submission>;
  /** The submission rate limit, when RATE_LIMIT_PER_MINUTE is set. */
  limit?: Middleware;
  /** What the status routes read through; one on `store` is made when absent (never closed: tests). */
  jobs?: JobCache;
}

/**
 * The app's one route table: every route, each with its guards attached to it, in one
 * case-sensitive, strict router (app/routes/router.ts), so a guard and the route it guards
 * match the same path by construction and 405's Allow lists every method of a path.
 *
 * | route | guard |
 * | --- | --- |
 * | POST /predict | rate limit; then by kind: JSON needs X-Api-Token, a form or upload the form token or X-Api-Token (predict-post.ts) |
 * | GET /predict, GET/DELETE /predict/{id}, GET /api/model | X-Api-Token |
 * | /dashboard, /dashboard/data | X-Api-Token, or the dashboard session cookie (only with DASHBOARD=on) |
 * | /, /jobs/{id}, /progress, /result, /openapi.json, /docs, /healthz, /readyz, /metrics | open: the job id (a random UUID v4) is the key to a job |
 */
export function routeTable(deps: RouteDeps): Router {
  const { config } = deps;
  const guard = requireApiToken(config.API_TOKENS);
  const forms = formTokens(config.API_TOKENS);
  const form = formPage(forms);
  const jobs = deps.jobs ?? createJobCache({ store: deps.store, ttlSeconds: config.RESULT_TTL_SECONDS });
  const routers = [
    pageRoutes({ store: deps.store, form }),
    predictPostRoutes({
      model: deps.model,
      submit: deps.submit,
      maxBatchRows: config.MAX_BATCH_ROWS,
      apiTokens: config.API_TOKENS,
      forms,
      form,
      limit: deps.limit,
    }),
    predictApiRoutes({ store: deps.store, jobs, model: deps.model, maxBatchRows: config.MAX_BATCH_ROWS, guard }),
    jobRoutes({ store: deps.store, jobs, reports: deps.reports }),
    apiDocsRoutes({ model: deps.model, maxBatchRows: config.MAX_BATCH_ROWS, guard }),
    opsRoutes({ queue: deps.queue, store: deps.store, reports: deps.reports, metrics: deps.metrics }),
  ];
  if (config.DASHBOARD) {
    routers.push(dashboardRoutes({ queue: deps.queue, store: deps.store, metrics: deps.metrics, tokens: config.API_TOKENS }));
  }
  const table = createRouter();
  table.use(...routers.map((r) => r.routes()));
  return table;
}
