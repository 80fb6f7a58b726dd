import type { z } from "zod";
import { FEATURE_LABELS, type Feature } from "../tasks/contract.js";
import { ValidationError, type FieldIssue } from "../tasks/errors.js";

/** Most field problems listed in one answer; a 10,000-row file with a bad column would list 10,000. */
const MAX_DETAILS = 20;

/** zod issues as {field, message} sentences; batch rows are named "Row n" (1-based) as a person counts. */
export function fieldIssues(error: z.ZodError, fieldPrefix = "", where = ""): FieldIssue[] {
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
