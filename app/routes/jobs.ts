import type { Context } from "koa";
import type Router from "@koa/router";
import { createRouter } from "./router.js";
import { JobStateConflictError } from "../../tasks/errors.js";
import type { ReportStore } from "../../tasks/report-store/types.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { JobCache } from "../job-cache.js";
import { loadJob, progressBody } from "../job-view.js";
import { answerStatus } from "../status-answer.js";

/**
 * GET /progress and GET /result (the seed-compatible job endpoints). /progress reads through the
 * job cache, with ETag and Prefer: wait (app/status-answer.ts); /result streams from the report store.
 */
export function jobRoutes(deps: { store: JobStore; jobs: JobCache; reports: ReportStore }): Router {
  const router = createRouter();

  router.get("/progress", (ctx) =>
    answerStatus(ctx, {
      jobs: deps.jobs,
      route: "/progress",
      rawId: ctx.query.jobid,
      load: (id) => loadJob(deps.jobs, id),
      view: (record) => {
        const body = progressBody(record);
        return { status: 200, shown: body, body: () => body };
      },
    }),
  );

  router.get("/result", async (ctx) => {
    const record = await loadJob(deps.store, ctx.query.jobid);
    if (record.state === "FAILURE") {
      throw new JobStateConflictError(record.error ?? "The job failed; there is no report.", record.state);
    }
    if (record.state === "REVOKED") {
      throw new JobStateConflictError("The job was cancelled; there is no report.", record.state);
    }
    if (record.state !== "SUCCESS" || !record.report) {
      throw new JobStateConflictError("The report is not ready yet.", record.state);
    }
    const disposition = ctx.query.inline === "1" ? "inline" : "attachment";
    if (ctx.method === "HEAD") {
      // The headers a GET would send, without reading the report (an object store answers HEAD itself).
      const size = await deps.reports.size(record.report);
      if (size === null) throw reportGone(record.state);
      setReportHeaders(ctx, record.jobid, disposition);
      ctx.status = 200;
      ctx.length = size;
      return;
    }
    // A one-page report is small and may be read whole; a batch report is streamed, with the
    // length of what is streamed.
    const report = await deps.reports.open(record.report, { small: record.batch_size === undefined });
    if (!report) throw reportGone(record.state);
    setReportHeaders(ctx, record.jobid, disposition);
    ctx.body = report.body; // a stream is closed when done or when the client goes away
    ctx.length = report.size;
  });

  return router;
}

/** The job succeeded but its report is gone (swept, or the disk or bucket was cleaned). */
function reportGone(state: string): JobStateConflictError {
  return new JobStateConflictError("The report file is no longer available.", state);
}

function setReportHeaders(ctx: Context, jobid: string, disposition: "inline" | "attachment"): void {
  ctx.set("Content-Disposition", `${disposition}; filename="iris-report-${jobid}.pdf"`);
  ctx.set("Cache-Control", "private, max-age=3600");
  ctx.type = "application/pdf";
}
