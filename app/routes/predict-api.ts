import { readFile } from "node:fs/promises";
import Router from "@koa/router";
import type { Context } from "koa";
import { FEATURES, TERMINAL_STATES } from "../../tasks/contract.js";
import { JobNotFoundError, JobStateConflictError, ValidationError } from "../../tasks/errors.js";
import type { Model } from "../../tasks/model/load.js";
import type { BatchResults, JobRecord, JobStore } from "../../tasks/store/types.js";
import { clip, invalid, parseMeasurementStrings, parsePredictBody, type PredictPayload } from "../api-schemas.js";
import { parseBatchCsv } from "../csv.js";
import { HttpError } from "../errors.js";
import { loadJob } from "../job-view.js";
import type { JobPayload, Submission } from "../submit-job.js";

/** What the JSON API needs. */
export interface PredictApiDeps {
  store: JobStore;
  model: Model;
  submit: (payload: JobPayload, opts?: { idempotencyKey?: string }) => Promise<Submission>;
  maxBatchRows: number;
}

const ACCEPTED = "Request received. Processing asynchronously.";
const STILL_RUNNING = "Prediction is still being processed.";
const NOT_FOUND = "Prediction ID not found.";
/** Idempotency keys are opaque to us, but bounded: they are hashed into one Redis key each. */
const MAX_IDEMPOTENCY_KEY = 255;

/**
 * The JSON API: POST /predict (sync, async, batch, CSV), GET /predict?… (sync), GET and
 * DELETE /predict/{id}. The form's POST /predict (pages.ts) passes everything that is not a
 * plain form on to here.
 */
export function predictApiRoutes(deps: PredictApiDeps): Router {
  const router = new Router();
  const { model, store, maxBatchRows } = deps;

  const predictNow = (input: { sepal_length: number; sepal_width: number; petal_length: number; petal_width: number }) => {
    const { result, probabilities } = model.predict(input);
    return { input, result, probabilities, model_version: model.version };
  };

  const accept = async (ctx: Context, payload: JobPayload, html = false) => {
    const { jobid, replayed } = await deps.submit(payload, { idempotencyKey: idempotencyKey(ctx) });
    if (html) {
      ctx.status = 303;
      ctx.redirect(`/jobs/${jobid}`);
      return;
    }
    ctx.status = 202;
    ctx.set("Location", `/predict/${jobid}`);
    if (replayed) ctx.set("Idempotent-Replayed", "true");
    ctx.body = {
      message: ACCEPTED,
      prediction_id: jobid,
      progress_url: `/progress?jobid=${jobid}`,
      result_url: `/result?jobid=${jobid}`,
    };
  };

  router.post("/predict", async (ctx) => {
    const type = ctx.request.type;
    if (type === "multipart/form-data") {
      const inputs = await csvUpload(ctx, maxBatchRows);
      await accept(ctx, { inputs }, ctx.accepts("json", "html") === "html");
      return;
    }
    if (type === "application/x-www-form-urlencoded") {
      // pages.ts answers every form with a body; one without any ends up here.
      throw invalid([{ field: "body", message: "The form is empty." }]);
    }
    if (type !== "application/json" && !type.endsWith("+json")) {
      throw new HttpError(415, "This content type is not supported; send application/json or a multipart CSV upload.", [
        { field: "Content-Type", message: "Use application/json, or multipart/form-data with a CSV in the field \"file\"." },
      ]);
    }
    const asyncMode = asyncModeHeader(ctx);
    if (ctx.request.body === undefined) {
      throw invalid([{ field: "body", message: 'The request body is empty; send {"input": {...}}.' }]);
    }
    const payload: PredictPayload = parsePredictBody(ctx.request.body, maxBatchRows);
    if ("inputs" in payload || asyncMode) {
      await accept(ctx, payload);
      return;
    }
    ctx.body = predictNow(payload.input);
  });

  router.get("/predict", (ctx) => {
    const entries: Array<[string, unknown]> = [];
    const issues: Array<{ field: string; message: string }> = [];
    for (const [key, value] of Object.entries(ctx.query)) {
      if (key === "Submit") continue;
      if (Array.isArray(value)) issues.push({ field: key, message: `"${clip(key)}" is given more than once.` });
      else entries.push([key, value]);
    }
    if (issues.length) throw invalid(issues);
    // fromEntries defines own properties, so a "__proto__" parameter stays a key (and is refused).
    const checked = parseMeasurementStrings(Object.fromEntries(entries), { maxBatchRows });
    if (!checked.ok) throw invalid(checked.issues);
    ctx.body = predictNow(checked.value);
  });

  router.get("/predict/:id", async (ctx) => {
    const record = await loadPrediction(store, ctx.params.id);
    ctx.set("Cache-Control", "no-store");
    if (!TERMINAL_STATES.has(record.state)) {
      ctx.status = 202;
      ctx.body = { prediction_id: record.jobid, state: record.state, progress: record.progress, error: STILL_RUNNING };
      return;
    }
    ctx.body = await statusBody(store, record);
  });

  router.delete("/predict/:id", async (ctx) => {
    const record = await loadPrediction(store, ctx.params.id);
    const refuse = (state: string) =>
      new JobStateConflictError(`The prediction has already finished (${state}); it can no longer be cancelled.`, state);
    if (TERMINAL_STATES.has(record.state)) throw refuse(record.state);
    // The store refuses to replace a final state, so a job that finished meanwhile stays finished.
    const outcome = await store.update(record.jobid, { state: "REVOKED", stage: "cancelled", progress: 1 });
    if (!outcome) throw notFound(record.jobid);
    if (!outcome.applied) throw refuse(outcome.record.state);
    ctx.body = await statusBody(store, outcome.record);
  });

  return router;
}

/** The final answer of GET (and DELETE) /predict/{id}. */
async function statusBody(store: JobStore, record: JobRecord) {
  const prediction_id = record.jobid;
  if (record.state === "FAILURE") return { prediction_id, state: record.state, error: record.error ?? "The prediction failed." };
  if (record.state === "REVOKED") return { prediction_id, state: record.state, error: "The prediction was cancelled." };
  const output =
    record.batch_size !== undefined
      ? batchOutput(record, await store.getBatchResults(record.jobid))
      : { input: record.input!, result: record.result!, probabilities: record.probabilities ?? {} };
  return { prediction_id, state: "SUCCESS" as const, output, report_url: `/result?jobid=${prediction_id}` };
}

/** A batch's stored rows back as objects: row number (1-based), input, species, probabilities. */
function batchOutput(record: JobRecord, stored: BatchResults | null) {
  const classes = stored?.classes ?? [];
  const results = (stored?.rows ?? []).map((r, i) => ({
    row: i + 1,
    input: Object.fromEntries(FEATURES.map((f, j) => [f, r[j]!])) as Record<(typeof FEATURES)[number], number>,
    result: classes[r[FEATURES.length]!] ?? "unknown",
    probabilities: Object.fromEntries(classes.map((c, k) => [c, r[FEATURES.length + 1 + k]!])),
  }));
  return { count: record.batch_size!, summary: record.summary ?? {}, results };
}

/** Loads a job for the API: 400 malformed, 404 with the API's sentence, 410 expired. */
async function loadPrediction(store: JobStore, id: unknown): Promise<JobRecord> {
  try {
    return await loadJob(store, id);
  } catch (err) {
    if (err instanceof JobNotFoundError) throw notFound(err.jobid);
    if (err instanceof ValidationError) {
      throw new ValidationError("The prediction id is not a valid id.", [{ field: "id", message: "Must be a UUID v4." }]);
    }
    throw err;
  }
}

function notFound(jobid: string): JobNotFoundError {
  const err = new JobNotFoundError(jobid);
  err.message = NOT_FOUND;
  return err;
}

/** `Async-Mode: true|false` (absent = false); anything else is a 400 naming the header. */
function asyncModeHeader(ctx: Context): boolean {
  const raw = ctx.get("Async-Mode").trim().toLowerCase();
  if (raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  throw invalid([{ field: "Async-Mode", message: 'The Async-Mode header must be "true" or "false".' }]);
}

/** The Idempotency-Key header, if sent; an empty or over-long one is a 400 naming the header. */
function idempotencyKey(ctx: Context): string | undefined {
  const key = ctx.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY) {
    throw invalid([{ field: "Idempotency-Key", message: `The Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters.` }]);
  }
  return key;
}

/** The uploaded CSV (multipart field `file`) as validated rows. */
async function csvUpload(ctx: Context, maxBatchRows: number) {
  const files = (ctx.request as { files?: Record<string, unknown> }).files ?? {};
  const fields = (ctx.request.body ?? {}) as Record<string, unknown>;
  const extra = [...Object.keys(files), ...Object.keys(fields)].filter((k) => k !== "file" && k !== "Submit");
  if (extra.length) {
    throw invalid(extra.map((k) => ({ field: k, message: `Unknown field "${clip(k)}"; upload the CSV in the field "file".` })));
  }
  const file = files.file as { filepath?: string } | Array<unknown> | undefined;
  if (!file || typeof fields.file === "string") {
    throw invalid([{ field: "file", message: 'Upload a CSV file in the multipart field "file".' }]);
  }
  if (Array.isArray(file)) throw invalid([{ field: "file", message: "Upload one CSV file at a time." }]);
  return parseBatchCsv(await readFile(file.filepath!), maxBatchRows);
}
