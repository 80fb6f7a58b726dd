import { z } from "zod";
import {
  FEATURES,
  FEATURE_LABELS,
  JOB_STATES,
  MEASUREMENT_MAX,
  measurementFromText,
  measurementSchema,
  UUID_V4,
  type Feature,
} from "../tasks/contract.js";
import { ValidationError, type FieldIssue } from "../tasks/errors.js";
import { HttpError } from "./http-errors.js";

/**
 * The JSON API's schemas: the ones that validate requests and, through app/openapi.ts, the ones
 * /openapi.json is generated from. Responses are described here too, so the document and the
 * tests that check responses against it share one source.
 */

const EXAMPLE = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/** One measurement: the one rule of tasks/contract.ts (JSON numbers as they are, text through measurementFromText), documented. */
function measurement(feature: Feature) {
  return measurementSchema.meta({
    description: `${FEATURE_LABELS[feature]} in cm: 0 < x ≤ ${MEASUREMENT_MAX}, to 0.01 cm (at most two decimals).`,
    examples: [EXAMPLE[feature]],
  });
}

// Ids are answered in lower case: the one UUID pattern, without its case-insensitive flag.
const jobId = z
  .string()
  .regex(new RegExp(UUID_V4.source))
  .meta({ description: "A prediction (job) id: a UUID v4.", examples: ["3f2b8c1e-9a4d-4e7b-8f60-2c5d1a9e7b44"] });
const probabilities = z
  .record(z.string(), z.number().min(0).max(1))
  .meta({ description: "Probability of each class (votes of the forest's trees).", examples: [{ setosa: 1, versicolor: 0, virginica: 0 }] });

/** Builds the schema set for a row limit (MAX_BATCH_ROWS is configuration, so the batch schema is too). */
function build(maxBatchRows: number) {
  const registry = z.registry<{ id: string }>();
  const reg = <T extends z.ZodType>(schema: T, id: string): T => {
    registry.add(schema, { id });
    return schema;
  };

  const Measurements = reg(
    z.strictObject(
      Object.fromEntries(FEATURES.map((f) => [f, measurement(f)])) as Record<Feature, ReturnType<typeof measurement>>,
      { error: () => `must be an object with ${FEATURES.join(", ")}` },
    ),
    "Measurements",
  );
  const SinglePredictRequest = reg(z.strictObject({ input: Measurements }), "SinglePredictRequest");
  const BatchPredictRequest = reg(
    z.strictObject({
      inputs: z
        .array(Measurements, { error: () => "must be an array of measurement objects" })
        .min(1, "must hold at least one row")
        .max(maxBatchRows, `must hold at most ${maxBatchRows} rows`)
        .meta({ description: `One object per flower; at most ${maxBatchRows} (MAX_BATCH_ROWS; more gives 413).` }),
    }),
    "BatchPredictRequest",
  );
  const PredictRequest = reg(z.union([SinglePredictRequest, BatchPredictRequest]), "PredictRequest");

  const PredictionResult = reg(
    z.strictObject({ input: Measurements, result: z.string(), probabilities, model_version: z.string() }),
    "PredictionResult",
  );
  const AsyncAccepted = reg(
    z.strictObject({
      message: z.string(),
      prediction_id: jobId,
      progress_url: z.string(),
      result_url: z.string(),
    }),
    "AsyncAccepted",
  );
  const PredictionPending = reg(
    z.strictObject({
      prediction_id: jobId,
      state: z.enum(["PENDING", "PROGRESS"]),
      progress: z.number().min(0).max(1),
      error: z.string(),
    }),
    "PredictionPending",
  );
  const SingleOutput = reg(z.strictObject({ input: Measurements, result: z.string(), probabilities }), "SingleOutput");
  const BatchOutput = reg(
    z.strictObject({
      count: z.int().min(1),
      summary: z.record(z.string(), z.int().min(0)).meta({ description: "Rows per predicted species." }),
      results: z.array(
        z.strictObject({ row: z.int().min(1), input: Measurements, result: z.string(), probabilities }),
      ),
    }),
    "BatchOutput",
  );
  const PredictionDone = reg(
    z.strictObject({
      prediction_id: jobId,
      state: z.literal("SUCCESS"),
      output: z.union([SingleOutput, BatchOutput]),
      report_url: z.string(),
    }),
    "PredictionDone",
  );
  const PredictionEnded = reg(
    z.strictObject({ prediction_id: jobId, state: z.enum(["FAILURE", "REVOKED"]), error: z.string() }),
    "PredictionEnded",
  );
  const PredictionStatus = reg(z.union([PredictionDone, PredictionEnded]), "PredictionStatus");
  const ErrorBody = reg(
    z.strictObject({
      error: z.string().meta({ description: "What went wrong, in a sentence." }),
      details: z
        .array(z.strictObject({ field: z.string(), message: z.string() }))
        .optional()
        .meta({ description: "Each offending field (or CSV row), with what is wrong with it." }),
      state: z.enum(JOB_STATES).optional().meta({ description: "The job's state, on a 409." }),
    }),
    "ErrorBody",
  );
  const Progress = reg(
    z.looseObject({
      jobid: jobId,
      state: z.enum(JOB_STATES),
      progress: z.number().min(0).max(1),
      stage: z.string(),
      stage_label: z.string(),
      error: z.string().optional(),
      result: z.string().optional(),
      probabilities: probabilities.optional(),
    }),
    "Progress",
  );
  const ModelCard = reg(
    z.strictObject({
      version: z.string().meta({ description: "Hash of the trained model." }),
      algorithm: z.string(),
      parameters: z.record(z.string(), z.unknown()),
      classes: z.array(z.string()),
      features: z.array(z.string()),
      training_samples: z.int(),
      oob_accuracy: z.number().min(0).max(1),
      cv_accuracy: z.number().min(0).max(1),
      cv_folds: z.int(),
      feature_importance: z.record(z.string(), z.number()),
      trained_at: z.string(),
    }),
    "ModelCard",
  );
  return {
    registry,
    Measurements,
    SinglePredictRequest,
    BatchPredictRequest,
    PredictRequest,
    PredictionResult,
    AsyncAccepted,
    PredictionPending,
    PredictionStatus,
    ErrorBody,
    Progress,
    ModelCard,
  };
}

export type ApiSchemas = ReturnType<typeof build>;
const cache = new Map<number, ApiSchemas>();

/** The API's schemas for this row limit (built once per limit). */
export function apiSchemas(maxBatchRows: number): ApiSchemas {
  let schemas = cache.get(maxBatchRows);
  if (!schemas) cache.set(maxBatchRows, (schemas = build(maxBatchRows)));
  return schemas;
}

/** Most field problems listed in one answer; a 10,000-row file with a bad column would list 10,000. */
const MAX_DETAILS = 20;

/** A validated POST /predict body. */
export type PredictPayload = { input: z.infer<ApiSchemas["Measurements"]> } | { inputs: Array<z.infer<ApiSchemas["Measurements"]>> };

/** Validates a JSON POST /predict body (one of {input} or {inputs}); throws ValidationError or 413. */
export function parsePredictBody(body: unknown, maxBatchRows: number): PredictPayload {
  const schemas = apiSchemas(maxBatchRows);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ValidationError('The request body must be a JSON object such as {"input": {...}}.', [
      { field: "body", message: 'Send {"input": {...}} for one flower or {"inputs": [...]} for a batch.' },
    ]);
  }
  const keys = Object.keys(body);
  const unknown = keys.filter((k) => k !== "input" && k !== "inputs");
  if (unknown.length) {
    throw invalid(unknown.map((k) => ({ field: k, message: `Unknown field "${clip(k)}"; use "input" or "inputs".` })));
  }
  if (keys.length !== 1) {
    throw new ValidationError(
      keys.length ? 'Send either "input" or "inputs", not both.' : 'The body needs "input" (one flower) or "inputs" (a batch).',
      [{ field: keys.length ? "inputs" : "input", message: 'Exactly one of "input" and "inputs" is required.' }],
    );
  }
  const inputs = (body as { inputs?: unknown }).inputs;
  if (Array.isArray(inputs) && inputs.length > maxBatchRows) throw tooManyRows(inputs.length, maxBatchRows, "inputs");
  const schema = keys[0] === "input" ? schemas.SinglePredictRequest : schemas.BatchPredictRequest;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalid(issuesOf(parsed.error));
  return parsed.data as PredictPayload;
}

/** Validates measurements that came as strings (a query string, a CSV row); `where` prefixes messages. */
export function parseMeasurementStrings(
  raw: Record<string, unknown>,
  opts: { maxBatchRows: number; fieldPrefix?: string; where?: string },
): { ok: true; value: z.infer<ApiSchemas["Measurements"]> } | { ok: false; issues: FieldIssue[] } {
  const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, measurementFromText(v)]));
  const parsed = apiSchemas(opts.maxBatchRows).Measurements.safeParse(values);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, issues: issuesOf(parsed.error, opts.fieldPrefix, opts.where) };
}

/** zod issues as {field, message} sentences; batch rows are named "Row n" (1-based) as a person counts. */
function issuesOf(error: z.ZodError, fieldPrefix = "", where = ""): FieldIssue[] {
  const out: FieldIssue[] = [];
  const seen = new Set<string>(); // one sentence per field: the first thing wrong with it
  for (const issue of error.issues) {
    const at = issue.path.map(String).join(".");
    if (issue.code !== "unrecognized_keys") {
      if (seen.has(at)) continue;
      seen.add(at);
    }
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    let row = where;
    let rest = path;
    if (path[0] === "inputs" && typeof path[1] === "number") {
      row = `Row ${path[1] + 1}: `;
      rest = path.slice(2);
    }
    const base = fieldPrefix + fieldName(path);
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ field: base ? `${base}.${key}` : key, message: `${row}Unknown field "${clip(key)}".` });
      }
      continue;
    }
    const last = rest[rest.length - 1];
    const label = typeof last === "string" && last in FEATURE_LABELS ? FEATURE_LABELS[last as Feature] : undefined;
    const message = label
      ? `${label} ${issue.message}.`
      : /^(must|is) /.test(issue.message)
        ? `"${fieldName(rest) || base || "body"}" ${issue.message}.`
        : sentence(issue.message);
    out.push({ field: base || "body", message: `${row}${message}` });
  }
  return out;
}

/** "inputs", 3, "sepal_length" → "inputs[3].sepal_length". */
function fieldName(path: Array<string | number>): string {
  return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function sentence(message: string): string {
  const m = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(m) ? m : `${m}.`;
}

/** Keeps a client's odd key or column name short in our messages. */
export function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A ValidationError summarising `details` (capped at MAX_DETAILS). */
export function invalid(details: FieldIssue[]): ValidationError {
  const shown = details.slice(0, MAX_DETAILS);
  if (details.length > shown.length) {
    shown.push({ field: "body", message: `…and ${details.length - shown.length} more problems.` });
  }
  const message =
    details.length === 1 ? details[0]!.message : `The request has ${details.length} problems; the first: ${details[0]!.message}`;
  return new ValidationError(message, shown);
}

/** 413 for a batch over MAX_BATCH_ROWS. */
export function tooManyRows(rows: number, max: number, field: string): HttpError {
  return new HttpError(413, `A batch may hold at most ${max} rows; this one has ${rows}.`, [
    { field, message: `At most ${max} rows (MAX_BATCH_ROWS).` },
  ]);
}
