import type Router from "@koa/router";
import type { Middleware } from "koa";
import { FEATURES, TERMINAL_STATES } from "../../tasks/contract.js";
import { JobNotFoundError, JobStateConflictError, ValidationError } from "../../tasks/errors.js";
import type { Model } from "../../tasks/model/load.js";
import type { BatchResults, JobRecord, JobStore } from "../../tasks/store/types.js";
import { clip, invalid } from "../field-issues.js";
import type { JobCache } from "../job-cache.js";
import { loadJob, type JobReader } from "../job-view.js";
import { parseMeasurementStrings } from "../parse-measurements.js";
import { answerStatus } from "../status-answer.js";
import { createRouter } from "./router.js";

/** What the JSON API's reads and cancellations need. */
export interface PredictApiDeps {
  store: JobStore;
  /** The status route's reads (app/job-cache.ts). */
  jobs: JobCache;
  model: Model;
  maxBatchRows: number;
  /** The API-token check, attached to each route (app/guards/api-token.ts). */
  guard: Middleware;
}

const STILL_RUNNING = "Prediction is still being processed.";
const NOT_FOUND = "Prediction ID not found.";

/**
 * The JSON API besides POST /predict (app/routes/predict-post.ts): GET /predict?… (sync),
 * GET and DELETE /predict/{id}. Each route carries the API-token guard.
 */
export function predictApiRoutes(deps: PredictApiDeps): Router {
  const router = createRouter();
  const { model, store, jobs, maxBatchRows, guard } = deps;

  const predictNow = (input: { sepal_length: number; sepal_width: number; petal_length: number; petal_width: number }) => {
    const { result, probabilities } = model.predict(input);
    return { input, result, probabilities, model_version: model.version };
  };

  router.get("/predict", guard, (ctx) => {
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

  router.get("/predict/:id", guard, (ctx) =>
    answerStatus(ctx, {
      jobs,
      route: "/predict/{id}",
      rawId: ctx.params.id,
      load: (id) => loadPrediction(jobs, id),
      view: (record) => {
        if (!TERMINAL_STATES.has(record.state)) {
          const body = { prediction_id: record.jobid, state: record.state, progress: record.progress, error: STILL_RUNNING };
          return { status: 202, shown: body, body: () => body };
        }
        // A batch's rows are saved once, before its SUCCESS: the record (rows left out) fixes the body.
        return { status: 200, shown: finalBody(record, null), body: () => statusBody(store, record) };
      },
    }),
  );

  router.delete("/predict/:id", guard, async (ctx) => {
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

/** The final answer of GET (and DELETE) /predict/{id}; a batch's rows read from the store. */
async function statusBody(store: JobStore, record: JobRecord) {
  const batched = record.state === "SUCCESS" && record.batch_size !== undefined;
  return finalBody(record, batched ? await store.getBatchResults(record.jobid) : null);
}

/** The final answer for a finished record and, for a batch, its stored rows. */
function finalBody(record: JobRecord, rows: BatchResults | null) {
  const prediction_id = record.jobid;
  if (record.state === "FAILURE") return { prediction_id, state: record.state, error: record.error ?? "The prediction failed." };
  if (record.state === "REVOKED") return { prediction_id, state: record.state, error: "The prediction was cancelled." };
  const output =
    record.batch_size !== undefined
      ? batchOutput(record, rows)
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
async function loadPrediction(store: JobReader, id: unknown): Promise<JobRecord> {
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
