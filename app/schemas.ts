import { FEATURE_LABELS, jobIdSchema, LEGACY_NAMES, type Measurements } from "../tasks/contract.js";
import { JobNotFoundError, ValidationError, type FieldIssue } from "../tasks/errors.js";
import { clip, parseMeasurementStrings } from "./api-schemas.js";

/**
 * The form's measurements (urlencoded or multipart): the legacy names of the Flask seed
 * (`Sepal length`…) are accepted and its `Submit` button ignored, then the values go through the
 * same parser as a query string or a CSV row (parseMeasurementStrings: one rule for what a
 * number is, one formatter for what is wrong). One field under both of its names, or given twice,
 * is a 400 rather than one of them silently winning. Throws ValidationError.
 */
export function parseMeasurements(raw: Record<string, unknown>): Measurements {
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

/** A job id from a query or path: malformed → 400 ValidationError. */
export function parseJobId(raw: unknown): string {
  if (raw === undefined || raw === "") {
    throw new ValidationError("The job id is missing.", [{ field: "jobid", message: "A job id is required." }]);
  }
  const parsed = jobIdSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError("The job id is not a valid id.", [{ field: "jobid", message: "The job id must be a UUID." }]);
  }
  return parsed.data.toLowerCase();
}

export { JobNotFoundError };
