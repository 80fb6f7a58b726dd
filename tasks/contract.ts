import { z } from "zod";

/** The four measurements, in the order the model takes them. */
export const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
export type Feature = (typeof FEATURES)[number];

/** The legacy form's field names (the Flask seed's), mapped to ours. */
export const LEGACY_NAMES: Record<string, Feature> = {
  "Sepal length": "sepal_length",
  "Sepal width": "sepal_width",
  "Petal length": "petal_length",
  "Petal width": "petal_width",
};

/** Human labels for pages and reports. */
export const FEATURE_LABELS: Record<Feature, string> = {
  sepal_length: "Sepal length",
  sepal_width: "Sepal width",
  petal_length: "Petal length",
  petal_width: "Petal width",
};

export const MEASUREMENT_MIN_EXCLUSIVE = 0;
export const MEASUREMENT_MAX = 10;

/** Measurements are given to 0.01 cm: the form's step, and what pages and reports show. */
export const MEASUREMENT_STEP = 0.01;

/**
 * A measurement written as text (a form field, a query parameter, a CSV cell), surrounding white
 * space aside: the HTML form's own "valid floating-point number" — digits, an optional fraction,
 * an optional exponent. Not `0x5`, `0b11`, `0o7`, `.5`, `5.`, `+5`, `1_0` or `5,1`, which
 * `Number()` would take or half-take. JSON numbers are the same grammar less leading zeros.
 */
export const MEASUREMENT_TEXT = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** The one rule for text: a measurement's text becomes its number; anything else stays as it is (and fails). */
export function measurementFromText(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  return MEASUREMENT_TEXT.test(text) ? Number(text) : value;
}

/**
 * One measurement in cm, however it arrived (after measurementFromText for text): a finite
 * number, 0 < x ≤ 10, in steps of 0.01 (5.1, 0.07 and 0.2 + 0.1 pass; 0.001 and 5.123 do not). A
 * value with more decimals would be accepted and then shown rounded, as another value than the one sent.
 */
export const measurementSchema = z
  .number({
    error: (i) =>
      i.input === undefined || i.input === ""
        ? "is required"
        : typeof i.input === "number"
          ? "must be a finite number"
          : "must be a number",
  })
  .gt(MEASUREMENT_MIN_EXCLUSIVE, "must be greater than 0")
  .lte(MEASUREMENT_MAX, "must be at most 10")
  // Within a millionth of a cm of a step counts as on it: a program's 0.2 + 0.1 is
  // 0.30000000000000004, which is 0.3 to anyone (and shown so), while 0.001 is a different value.
  .refine((x) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-4, "must be given to 0.01 cm (at most two decimals)");

/** The validated input of one prediction. Unknown keys are rejected. */
export const measurementsSchema = z.strictObject({
  sepal_length: measurementSchema,
  sepal_width: measurementSchema,
  petal_length: measurementSchema,
  petal_width: measurementSchema,
});
export type Measurements = z.infer<typeof measurementsSchema>;

/** A measurement as pages and reports print it: one or two decimals (3 → "3.0", 5.25 → "5.25"). */
export function formatCm(value: number): string {
  const fixed = value.toFixed(2);
  return fixed.endsWith("0") ? value.toFixed(1) : fixed;
}

export const JOB_STATES = ["PENDING", "PROGRESS", "SUCCESS", "FAILURE", "REVOKED"] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/** Stages of a job and the progress fraction each one starts at. */
export const STAGES = {
  queued: 0,
  validating: 0.1,
  classifying: 0.3,
  rendering: 0.6,
  saving: 0.9,
  done: 1,
} as const;
export type Stage = keyof typeof STAGES | "failed" | "cancelled";

/** Words shown to a person for each stage. */
export const STAGE_LABELS: Record<Stage, string> = {
  queued: "Waiting in the queue",
  validating: "Checking the measurements",
  classifying: "Classifying the flower",
  rendering: "Drawing the report",
  saving: "Saving the PDF",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** A UUID v4, the only form of job id (either case; stored and compared in lower case). */
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A job id: a UUID v4. */
export const jobIdSchema = z.string().regex(UUID_V4, "must be a UUID v4");

/** What goes through the queue for one flower: the job id, its input and when it was submitted. */
export const singleJobMessageSchema = z.strictObject({
  jobid: jobIdSchema,
  input: measurementsSchema,
  submitted_at: z.string(),
});
export type SingleJobMessage = z.infer<typeof singleJobMessageSchema>;

/** A batch job: many flowers, one report. The rows travel in the message, not in the job's hash. */
export const batchJobMessageSchema = z.strictObject({
  jobid: jobIdSchema,
  inputs: z.array(measurementsSchema).min(1),
  submitted_at: z.string(),
});
export type BatchJobMessage = z.infer<typeof batchJobMessageSchema>;

/** Any queue message: a single job or a batch. */
export const jobMessageSchema = z.union([singleJobMessageSchema, batchJobMessageSchema]);
export type JobMessage = z.infer<typeof jobMessageSchema>;

/** True for a batch job's message. */
export function isBatchMessage(msg: JobMessage): msg is BatchJobMessage {
  return "inputs" in msg;
}
