import type { Context, Middleware } from "koa";
import { koaBody } from "koa-body";
import { FEATURES, FEATURE_LABELS, type Measurements } from "../../tasks/contract.js";
import { ValidationError } from "../../tasks/errors.js";
import type { Model } from "../../tasks/model/load.js";
import { invalid } from "../field-issues.js";
import { parseFormMeasurements, parsePredictBody } from "../parse-measurements.js";
import { HttpError, UnauthorizedError } from "../http-errors.js";
import { hasApiToken } from "../guards/api-token.js";
import { FORM_TOKEN_FIELD, type FormTokens } from "../guards/form-token.js";
import { parseJsonBody } from "../json-body.js";
import { readMultipart } from "../multipart.js";
import type { JobPayload, Submission } from "../submit-job.js";
import type { FormPage } from "./pages.js";
import { createRouter } from "./router.js";

/** What POST /predict needs. */
export interface PredictPostDeps {
  model: Model;
  submit: (payload: JobPayload, opts?: { idempotencyKey?: string }) => Promise<Submission>;
  maxBatchRows: number;
  apiTokens: readonly string[];
  forms: FormTokens;
  form: FormPage;
  /** Runs before anything else (the submission rate limit); absent when off. */
  limit?: Middleware;
}

/** Largest JSON body: a 10,000-row batch is ~0.8 MB compact, ~1.5 MB pretty-printed. */
export const JSON_LIMIT_BYTES = 2 * 1024 * 1024;
/** Largest CSV upload. */
export const UPLOAD_LIMIT_BYTES = 5 * 1024 * 1024;

const ACCEPTED = "Request received. Processing asynchronously.";
/** Idempotency keys are opaque to us, but bounded: they are hashed into one Redis key each. */
const MAX_IDEMPOTENCY_KEY = 255;

/**
 * What a POST /predict is, decided once, from its Content-Type (media types are case-insensitive):
 * - `form`: the measurement form, urlencoded → 303 to the job page, or 400 with the form again;
 * - `multipart`: the form page's CSV upload (or the measurement form sent as multipart);
 * - `json`: the JSON API (application/json and any application/*+json) → 200, 202.
 * Anything else is 415. Who may send each is decided next to it, in this file.
 */
type SubmissionKind = "form" | "multipart" | "json";

function submissionKind(ctx: Context): SubmissionKind {
  if (!ctx.get("Content-Type")) {
    if (!ctx.request.length && !ctx.get("Transfer-Encoding")) {
      throw invalid([{ field: "body", message: 'The request body is empty; send {"input": {...}} as application/json.' }]);
    }
    throw unsupportedType();
  }
  if (ctx.is("urlencoded")) return "form";
  if (ctx.is("multipart")) return "multipart";
  if (ctx.is("json", "+json")) return "json";
  throw unsupportedType();
}

function unsupportedType(): HttpError {
  return new HttpError(415, "This content type is not supported; send application/json or a multipart CSV upload.", [
    { field: "Content-Type", message: 'Use application/json, or multipart/form-data with a CSV in the field "file".' },
  ]);
}

/**
 * POST /predict, every kind of it. The body is read here, after the rate limit and the API-token
 * check, so a refused request's body is never parsed; every reader is bounded while it streams.
 *
 * Who may submit, with API_TOKENS set: a JSON request needs X-Api-Token; a form post or upload
 * needs X-Api-Token or the form page's per-session token (app/guards/form-token.ts) — the Accept
 * header decides nothing. Without API_TOKENS everything is open, as the pages are.
 */
export function predictPostRoutes(deps: PredictPostDeps) {
  const router = createRouter();
  const { model, maxBatchRows, apiTokens, forms } = deps;
  const readText = koaBody({
    multipart: false,
    urlencoded: true,
    json: false,
    text: true,
    // JSON arrives as text and is parsed by parseJsonBody, which bounds its shape first.
    textTypes: ["json", "+json"],
    textLimit: JSON_LIMIT_BYTES,
    formLimit: "16kb",
    // A form has six fields; qs's own limit throws (rather than silently dropping the rest).
    queryString: { parameterLimit: 20, throwOnLimitExceeded: true, depth: 1, arrayLimit: 4 },
  });
  const parse = (ctx: Context) => readText(ctx, async () => {});
  const limits = { maxFileBytes: UPLOAD_LIMIT_BYTES, maxRows: maxBatchRows, maxFields: 10, maxFieldBytes: 1024 };

  /**
   * Who sent a form or upload: "form" (the page: its token is valid), "api" (a valid X-Api-Token),
   * or "open" (no API_TOKENS, no form token: a browser's or a program's, told apart by Accept only
   * for the format of the answer). Otherwise 401, or 403 for a page whose token no longer matches.
   */
  const formSender = (ctx: Context, fields: Record<string, unknown>): "form" | "api" | "open" => {
    if (forms.verify(ctx, fields[FORM_TOKEN_FIELD])) return "form";
    if (apiTokens.length === 0) return "open";
    if (ctx.get("X-Api-Token") && hasApiToken(ctx, apiTokens)) return "api";
    if (fields[FORM_TOKEN_FIELD] !== undefined) {
      throw new HttpError(403, "This form has expired or was not sent from this site; reload the page and submit it again.", [
        { field: FORM_TOKEN_FIELD, message: "The form's token does not match this browser's session." },
      ]);
    }
    throw new UnauthorizedError();
  };

  /** The measurement form (urlencoded or multipart without a file): 303, or 400 with the form again. */
  const formSubmission = async (ctx: Context, raw: Record<string, unknown>) => {
    const fields = { ...raw };
    delete fields[FORM_TOKEN_FIELD];
    let input: Measurements;
    try {
      input = parseFormMeasurements(fields);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const errors = Object.fromEntries(err.details.map((d) => [d.field, d.message]));
      const values = Object.fromEntries(FEATURES.map((f) => [f, fields[f] ?? fields[FEATURE_LABELS[f]] ?? ""]));
      ctx.status = 400;
      ctx.body = deps.form.render(ctx, values, errors, err.message);
      return;
    }
    const { jobid } = await deps.submit({ input });
    ctx.status = 303;
    ctx.redirect(`/jobs/${jobid}`);
  };

  const accept = async (ctx: Context, payload: JobPayload, html: boolean) => {
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

  const handlers: Middleware[] = [];
  if (deps.limit) handlers.push(deps.limit);
  router.post("/predict", ...handlers, async (ctx) => {
    const kind = submissionKind(ctx);
    if (kind === "json") {
      if (!hasApiToken(ctx, apiTokens)) throw new UnauthorizedError();
      const asyncMode = asyncModeHeader(ctx);
      await parse(ctx);
      const text = typeof ctx.request.body === "string" ? ctx.request.body : "";
      if (text.trim() === "") {
        throw invalid([{ field: "input", message: 'The request body is empty; send {"input": {...}}.' }]);
      }
      const payload = parsePredictBody(parseJsonBody(text, maxBatchRows), maxBatchRows);
      if ("inputs" in payload || asyncMode) {
        await accept(ctx, payload, false);
        return;
      }
      const { result, probabilities } = model.predict(payload.input);
      ctx.body = { input: payload.input, result, probabilities, model_version: model.version };
      return;
    }
    if (kind === "form") {
      await parse(ctx);
      const fields = (ctx.request.body ?? {}) as Record<string, unknown>;
      formSender(ctx, fields);
      if (Object.keys(fields).length === 0) throw invalid([{ field: "body", message: "The form is empty." }]);
      await formSubmission(ctx, fields);
      return;
    }
    let sender: ReturnType<typeof formSender> | undefined;
    const body = await readMultipart(ctx, limits, (fields) => (sender = formSender(ctx, fields)));
    if (!body.rows) {
      formSender(ctx, body.fields);
      await formSubmission(ctx, body.fields);
      return;
    }
    const extra = Object.keys(body.fields).filter((k) => k !== "Submit" && k !== FORM_TOKEN_FIELD);
    if (extra.length) {
      throw invalid(extra.map((k) => ({ field: k, message: `Unknown field "${k.slice(0, 40)}"; upload the CSV in the field "file".` })));
    }
    const html = sender === "form" || (sender === "open" && ctx.accepts("json", "html") === "html");
    await accept(ctx, { inputs: body.rows }, html);
  });

  return router;
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
