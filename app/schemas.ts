import type { z } from "zod";
import { FEATURE_LABELS, jobIdSchema, measurementsSchema, normalizeFieldNames, type Measurements } from "../tasks/contract.js";
import { JobNotFoundError, ValidationError, type FieldIssue } from "../tasks/errors.js";

/** Field issues from a zod error, one per field, in a sentence a person understands. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) issues.push({ field: key, message: `Unknown field "${key}".` });
      continue;
    }
    const field = issue.path.map(String).join(".") || "body";
    if (seen.has(field)) continue;
    seen.add(field);
    const label = FEATURE_LABELS[field as keyof typeof FEATURE_LABELS] ?? field;
    issues.push({ field, message: `${label} ${issue.message}.` });
  }
  return issues;
}

/** Validates measurements (legacy names accepted, `Submit` ignored) or throws ValidationError. */
export function parseMeasurements(raw: unknown): Measurements {
  const obj = raw && typeof raw === "object" && !Array.isArray(raw) ? normalizeFieldNames(raw as Record<string, unknown>) : raw;
  const parsed = measurementsSchema.safeParse(obj);
  if (!parsed.success) {
    const details = fieldIssues(parsed.error);
    throw new ValidationError(
      details.length === 1 ? details[0]!.message : "Some measurements are missing or out of range.",
      details,
    );
  }
  return parsed.data;
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
