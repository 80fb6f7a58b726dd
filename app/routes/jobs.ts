import { readFile as readFileCallback } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { promisify } from "node:util";
import type { Context } from "koa";
import type Router from "@koa/router";
import { createRouter } from "./router.js";
import { JobStateConflictError } from "../../tasks/errors.js";
import type { ReportFiles } from "../../tasks/report/files.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { JobCache } from "../job-cache.js";
import { loadJob, progressBody } from "../job-view.js";
import { answerStatus } from "../status-answer.js";

const readFile = promisify(readFileCallback);

/**
 * GET /progress and GET /result (the seed-compatible job endpoints). /progress reads through the
 * job cache, with ETag and Prefer: wait (app/status-answer.ts).
 */
export function jobRoutes(deps: { store: JobStore; jobs: JobCache; files: ReportFiles }): Router {
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
    const path = deps.files.path(record.report);
    if (record.batch_size === undefined) {
      // A one-page report (~10 kB) is read whole and sent in one write: one readFile (open,
      // fstat, read, close) instead of a stream's open, stat, two reads, close and a pipeline
      // per download, which cost the web a visible share of its CPU. The callback readFile,
      // because it costs less CPU than fs/promises' (BENCHMARKS.md, "Figures behind the code").
      let pdf: Buffer;
      try {
        pdf = await readFile(path);
      } catch {
        throw reportGone(record.state);
      }
      setReportHeaders(ctx, record.jobid, disposition);
      ctx.body = pdf;
      return;
    }
    // A batch report can be large: streamed. Opened once and the open file stat-ed, so the
    // length sent is the length of what is streamed.
    let handle: FileHandle;
    let size: number;
    try {
      handle = await open(path, "r");
    } catch {
      throw reportGone(record.state);
    }
    try {
      size = (await handle.stat()).size;
    } catch (err) {
      await handle.close();
      throw err;
    }
    setReportHeaders(ctx, record.jobid, disposition);
    ctx.length = size;
    ctx.body = handle.createReadStream(); // closes the handle when done or destroyed
  });

  return router;
}

/** The job succeeded but its file is gone (swept, or the disk was cleaned). */
function reportGone(state: string): JobStateConflictError {
  return new JobStateConflictError("The report file is no longer available.", state);
}

function setReportHeaders(ctx: Context, jobid: string, disposition: "inline" | "attachment"): void {
  ctx.set("Content-Disposition", `${disposition}; filename="iris-report-${jobid}.pdf"`);
  ctx.set("Cache-Control", "private, max-age=3600");
  ctx.type = "application/pdf";
}
