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

/** One measurement in cm: a finite number, 0 < x ≤ 10. Numeric strings (form posts) are accepted. */
export const measurementSchema = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? Number(v.trim()) : v),
  z
    .number({ error: (i) => (i.input === undefined || i.input === "" ? "is required" : "must be a number") })
    .refine(Number.isFinite, "must be a finite number")
    .refine((x) => x > MEASUREMENT_MIN_EXCLUSIVE, "must be greater than 0")
    .refine((x) => x <= MEASUREMENT_MAX, "must be at most 10"),
);

/** The validated input of one prediction. Unknown keys are rejected. */
export const measurementsSchema = z.strictObject({
  sepal_length: measurementSchema,
  sepal_width: measurementSchema,
  petal_length: measurementSchema,
  petal_width: measurementSchema,
});
export type Measurements = z.infer<typeof measurementsSchema>;

/** Turns legacy form names into ours and drops the legacy `Submit` button field. */
export function normalizeFieldNames(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "Submit") continue;
    out[LEGACY_NAMES[key] ?? key] = value;
  }
  return out;
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

/** A UUID v4, the only accepted form of job id. */
export const jobIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i, "must be a UUID v4");

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
