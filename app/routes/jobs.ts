import { open, type FileHandle } from "node:fs/promises";
import Router from "@koa/router";
import { JobStateConflictError } from "../../tasks/errors.js";
import type { ReportFiles } from "../../tasks/report/files.js";
import type { JobStore } from "../../tasks/store/types.js";
import { loadJob, progressBody } from "../job-view.js";

/** Reports up to this size are sent from memory; larger ones (big batches) are streamed. */
const BUFFERED_REPORT_BYTES = 512 * 1024;

/** GET /progress and GET /result (the seed-compatible job endpoints). */
export function jobRoutes(deps: { store: JobStore; files: ReportFiles }): Router {
  const router = new Router();

  router.get("/progress", async (ctx) => {
    const record = await loadJob(deps.store, ctx.query.jobid);
    ctx.set("Cache-Control", "no-store");
    ctx.body = progressBody(record);
  });

  router.get("/result", async (ctx) => {
    const record = await loadJob(deps.store, ctx.query.jobid);
    if (record.state === "FAILURE") {
      throw new JobStateConflictError(record.error ?? "The job failed; there is no report.", record.state);
    }
    if (record.state !== "SUCCESS" || !record.report) {
      throw new JobStateConflictError("The report is not ready yet.", record.state);
    }
    // Open once and stat the open file: one path look-up, and the size matches what is streamed.
    let handle: FileHandle;
    let size: number;
    try {
      handle = await open(deps.files.path(record.report), "r");
    } catch {
      throw new JobStateConflictError("The report file is no longer available.", record.state);
    }
    try {
      size = (await handle.stat()).size;
    } catch (err) {
      await handle.close();
      throw err;
    }
    const disposition = ctx.query.inline === "1" ? "inline" : "attachment";
    ctx.set("Content-Disposition", `${disposition}; filename="iris-report-${record.jobid}.pdf"`);
    ctx.set("Cache-Control", "private, max-age=3600");
    ctx.type = "application/pdf";
    ctx.length = size;
    if (size > BUFFERED_REPORT_BYTES) {
      ctx.body = handle.createReadStream(); // closes the handle when done or destroyed
      return;
    }
    // A one-page report (~10 kB) is read whole and sent in one write: a stream costs two reads
    // and a pipeline (with its AbortController) per download, a visible share of the web's CPU.
    try {
      const pdf = await handle.readFile();
      if (pdf.length !== size)
        throw new JobStateConflictError("The report file changed while it was read.", record.state);
      ctx.body = pdf;
    } finally {
      await handle.close();
    }
  });

  return router;
}
