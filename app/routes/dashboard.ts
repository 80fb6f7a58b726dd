import type Router from "@koa/router";
import { createRouter } from "./router.js";
import { STAGE_LABELS, TERMINAL_STATES } from "../../tasks/contract.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import type { JobRecord, JobStore } from "../../tasks/store/types.js";
import type { AppMetrics } from "../metrics.js";
import { dashboardGate } from "../guards/dashboard-gate.js";

/** How many jobs the dashboard lists. */
export const DASHBOARD_JOBS = 50;

/** One row of the dashboard's job table. */
export interface DashboardJob {
  jobid: string;
  state: JobRecord["state"];
  stage: string;
  stage_label: string;
  progress: number;
  result?: string;
  error?: string;
  created_at: string;
  updated_at: string;
  /** Submission to final state, for finished jobs; null while queued or running. */
  duration_ms: number | null;
  page_url: string;
  progress_url: string;
  /** The PDF, once there is one. */
  result_url?: string;
}

/** What /dashboard/data returns and the page renders. */
export interface DashboardData {
  generated_at: string;
  /** null when the broker did not answer. */
  queue: { depth: number; consumers: number } | null;
  /** null when the metrics store did not answer. */
  jobs: { submitted: number; succeeded: number; failed: number; per_minute: number } | null;
  recent: DashboardJob[];
}

function row(r: JobRecord): DashboardJob {
  const id = encodeURIComponent(r.jobid);
  const job: DashboardJob = {
    jobid: r.jobid,
    state: r.state,
    stage: r.stage,
    stage_label: STAGE_LABELS[r.stage] ?? r.stage,
    progress: r.progress,
    created_at: r.created_at,
    updated_at: r.updated_at,
    duration_ms: TERMINAL_STATES.has(r.state) ? Math.max(0, Date.parse(r.updated_at) - Date.parse(r.created_at)) : null,
    page_url: `/jobs/${id}`,
    progress_url: `/progress?jobid=${id}`,
  };
  if (r.result) job.result = r.result;
  if (r.error) job.error = r.error;
  if (r.state === "SUCCESS") job.result_url = `/result?jobid=${id}`;
  return job;
}

/** Collects the dashboard's numbers; a dependency that does not answer leaves its part null. */
export async function dashboardData(deps: {
  queue: JobQueue;
  store: JobStore;
  metrics: AppMetrics;
}): Promise<DashboardData> {
  const [stats, snapshot, recent] = await Promise.all([
    deps.queue.stats().catch(() => null),
    deps.metrics.jobs.snapshot().catch(() => null),
    deps.store.recent(DASHBOARD_JOBS).catch(() => [] as JobRecord[]),
  ]);
  return {
    generated_at: new Date().toISOString(),
    queue: stats && { depth: stats.messages, consumers: stats.consumers },
    jobs: snapshot && {
      submitted: snapshot.submitted,
      succeeded: snapshot.succeeded,
      failed: snapshot.failed,
      per_minute: snapshot.finishedLastMinute,
    },
    recent: recent.map(row),
  };
}

/**
 * The operator's dashboard (mounted only when DASHBOARD=on): GET /dashboard, the page, and
 * GET /dashboard/data, the JSON its script polls. Behind API_TOKENS when those are set.
 */
export function dashboardRoutes(deps: {
  queue: JobQueue;
  store: JobStore;
  metrics: AppMetrics;
  tokens: readonly string[];
}): Router {
  const router = createRouter();
  const gate = dashboardGate({ tokens: deps.tokens, cookiePath: "/dashboard" });

  router.get("/dashboard", gate, async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = ctx.state.render("dashboard.njk", { data: await dashboardData(deps) });
  });

  router.get("/dashboard/data", gate, async (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = await dashboardData(deps);
  });

  return router;
}
