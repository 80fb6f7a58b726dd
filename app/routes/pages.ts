import Router from "@koa/router";
import { FEATURES, FEATURE_LABELS, MEASUREMENT_MAX, STAGES, STAGE_LABELS, type Measurements, type Stage } from "../../tasks/contract.js";
import { ValidationError } from "../../tasks/errors.js";
import type { JobStore } from "../../tasks/store/types.js";
import { loadJob, progressBody } from "../job-view.js";
import { parseMeasurements } from "../schemas.js";

/** Typical samples for the form's "try a typical …" buttons (first flower of each species' usual range). */
export const EXAMPLES = {
  setosa: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  versicolor: { sepal_length: 6.0, sepal_width: 2.9, petal_length: 4.5, petal_width: 1.5 },
  virginica: { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 },
};

const fields = FEATURES.map((name) => ({ name, label: FEATURE_LABELS[name] }));
/** The stages in order, for the progress page's step list. */
const stages = (Object.keys(STAGES) as Stage[]).map((name) => ({ name, label: STAGE_LABELS[name] }));

/** Form values from the query (`/?sepal_length=5.1&…`), so a failed job's page can link back pre-filled. */
function valuesFromQuery(query: Record<string, unknown>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const f of FEATURES) {
    const v = query[f];
    if (typeof v === "string" && v.length <= 32) values[f] = v;
  }
  return values;
}

/** A measurement as the report prints it: one or two decimals (3 → "3.0", 5.25 → "5.25"). */
function formatCm(value: number): string {
  const fixed = value.toFixed(2);
  return fixed.endsWith("0") ? value.toFixed(1) : fixed;
}

/** The browser pages: the form, its submission, and the progress page. */
export function pageRoutes(deps: { store: JobStore; submitJob: (input: Measurements) => Promise<string> }): Router {
  const router = new Router();
  const formContext = (values: Record<string, unknown>, errors: Record<string, string>, summary?: string) => ({
    fields,
    values,
    errors,
    summary,
    examples: EXAMPLES,
    max: MEASUREMENT_MAX,
  });

  router.get("/", (ctx) => {
    ctx.body = ctx.state.render("form.njk", formContext(valuesFromQuery(ctx.query), {}));
  });

  router.post("/predict", async (ctx, next) => {
    // JSON clients are the API's (predict-api.ts); this route is the HTML form's.
    if (!ctx.is("urlencoded", "multipart")) return next();
    // A file upload (the form page's CSV input, or a program's) is a batch: predict-api.ts.
    if (Object.keys((ctx.request as { files?: Record<string, unknown> }).files ?? {}).length) return next();
    const raw = (ctx.request.body ?? {}) as Record<string, unknown>;
    let input;
    try {
      input = parseMeasurements(raw);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const errors = Object.fromEntries(err.details.map((d) => [d.field, d.message]));
      const values = Object.fromEntries(FEATURES.map((f) => [f, raw[f] ?? raw[FEATURE_LABELS[f]] ?? ""]));
      ctx.status = 400;
      ctx.body = ctx.state.render("form.njk", formContext(values, errors, err.message));
      return;
    }
    const jobid = await deps.submitJob(input);
    ctx.status = 303;
    ctx.redirect(`/jobs/${jobid}`);
  });

  router.get("/jobs/:id", async (ctx) => {
    const record = await loadJob(deps.store, ctx.params.id);
    ctx.set("Cache-Control", "no-store");
    ctx.body = ctx.state.render("progress.njk", {
      job: progressBody(record),
      input: record.input,
      shown: record.input ? Object.fromEntries(FEATURES.map((f) => [f, formatCm(record.input![f])])) : {},
      fields,
      stages,
      stageIndex: stages.findIndex((s) => s.name === record.stage),
    });
  });

  return router;
}
