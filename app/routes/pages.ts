import type Router from "@koa/router";
import type { Context } from "koa";
import { FEATURES, FEATURE_LABELS, formatCm, MEASUREMENT_MAX, STAGES, STAGE_LABELS, type Stage } from "../../tasks/contract.js";
import type { JobStore } from "../../tasks/store/types.js";
import { FORM_TOKEN_FIELD, type FormTokens } from "../guards/form-token.js";
import { loadJob, progressBody } from "../job-view.js";
import { createRouter } from "./router.js";

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

/** What renders the form page (GET /, and a refused form post). */
export interface FormPage {
  /** Renders the form with `values`, each field's error and a summary; carries this browser's form token. */
  render(ctx: Context, values: Record<string, unknown>, errors: Record<string, string>, summary?: string): string;
}

/** The form page's renderer: its fields, examples and limits, and the form token of app/guards/form-token.ts. */
export function formPage(forms: FormTokens): FormPage {
  return {
    render(ctx, values, errors, summary) {
      // The page carries a per-session token: never stored by a shared cache.
      ctx.set("Cache-Control", "no-store");
      return ctx.state.render("form.njk", {
        fields,
        values,
        errors,
        summary,
        examples: EXAMPLES,
        max: MEASUREMENT_MAX,
        formTokenField: FORM_TOKEN_FIELD,
        formToken: forms.issue(ctx),
      });
    },
  };
}

/** The browser pages: the form and the progress page (the form's POST is app/routes/predict-post.ts). */
export function pageRoutes(deps: { store: JobStore; form: FormPage }): Router {
  const router = createRouter();

  router.get("/", (ctx) => {
    ctx.body = deps.form.render(ctx, valuesFromQuery(ctx.query), {});
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
