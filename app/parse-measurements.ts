import type { z } from "zod";
import { FEATURE_LABELS, LEGACY_NAMES, measurementFromText, type Measurements } from "../tasks/contract.js";
import { ValidationError, type FieldIssue } from "../tasks/errors.js";
import { apiSchemas, type ApiSchemas } from "./api-schemas.js";
import { clip, fieldIssues, invalid } from "./field-issues.js";
import { tooManyRows } from "./http-errors.js";

/**
 * Measurements from every way they arrive (a JSON body, text from a query string or a CSV row, the
 * form), checked by the one rule of tasks/contract.ts and refused in the words of field-issues.ts.
 */

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
  if (Array.isArray(inputs) && inputs.length > maxBatchRows) throw tooManyRows(maxBatchRows, "inputs", inputs.length);
  const schema = keys[0] === "input" ? schemas.SinglePredictRequest : schemas.BatchPredictRequest;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalid(fieldIssues(parsed.error));
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
  return { ok: false, issues: fieldIssues(parsed.error, opts.fieldPrefix, opts.where) };
}

/**
 * The form's measurements (urlencoded or multipart): the legacy names of the Flask seed
 * (`Sepal length`…) are accepted and its `Submit` button ignored, then the values go through the
 * same parser as a query string or a CSV row (parseMeasurementStrings: one rule for what a
 * number is, one formatter for what is wrong). One field under both of its names, or given twice,
 * is a 400 rather than one of them silently winning. Throws ValidationError.
 */
export function parseFormMeasurements(raw: Record<string, unknown>): Measurements {
  const fields: Record<string, unknown> = {};
  const sentAs: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === "Submit") continue;
    const name = Object.hasOwn(LEGACY_NAMES, key) ? LEGACY_NAMES[key]! : key;
    const label = FEATURE_LABELS[name as keyof typeof FEATURE_LABELS] ?? `"${clip(name)}"`;
    if (Array.isArray(value)) {
      issues.push({ field: name, message: `${label} is given more than once.` });
    } else if (Object.hasOwn(fields, name)) {
      issues.push({ field: name, message: `${label} is given twice, as "${clip(sentAs[name]!)}" and as "${clip(key)}".` });
    }
    fields[name] = value;
    sentAs[name] ??= key;
  }
  if (!issues.length) {
    const checked = parseMeasurementStrings(fields, { maxBatchRows: 1 });
    if (checked.ok) return checked.value;
    issues.push(...checked.issues);
  }
  throw new ValidationError(issues.length === 1 ? issues[0]!.message : "Some measurements are missing or out of range.", issues);
}
