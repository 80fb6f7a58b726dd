import { z } from "zod";
import { FEATURES, FEATURE_LABELS, JOB_STATES, MEASUREMENT_MAX, measurementSchema, UUID_V4, type Feature } from "../tasks/contract.js";

/**
 * The JSON API's zod schemas, each registered under its component name: the ones that validate
 * requests (app/parse-measurements.ts) and, through app/openapi.ts, the ones /openapi.json is
 * generated from. Responses are described here too, so the document and the tests that check
 * responses against it share one source.
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
