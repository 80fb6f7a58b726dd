import { z } from "zod";
import { apiSchemas } from "./api-schemas.js";

type Json = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string, description: string, extra: Json = {}) => ({
  description,
  content: { "application/json": { schema: ref(id) } },
  ...extra,
});
const error = (description: string, extra: Json = {}) => json("ErrorBody", description, extra);
const retryAfter = { "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer" } } };
const idParam = {
  name: "id",
  in: "path",
  required: true,
  description: "The prediction id (UUID v4) from the 202 answer.",
  schema: { type: "string" },
};
const jobidQuery = { name: "jobid", in: "query", required: true, description: "The job id (UUID v4).", schema: { type: "string" } };
/** Request headers of the status routes: revalidation and long polling (app/status-answer.ts). */
const statusParams = [
  {
    name: "If-None-Match",
    in: "header",
    required: false,
    description: "The ETag of the answer the client has. While it is still current the answer is 304 with no body.",
    schema: { type: "string" },
  },
  {
    name: "Prefer",
    in: "header",
    required: false,
    description:
      "`wait=N` (RFC 7240; whole seconds, more than 60 is taken as 60): long polling. When the job has not finished and " +
      "If-None-Match is absent or current, the answer waits for the job's next visible change, at most N seconds " +
      "(then 304 with If-None-Match, else the unchanged state). Any other value of wait is ignored. Not applied (no " +
      "Preference-Applied, the answer comes at once) when the web process already holds its maximum of waiting requests " +
      "(1000) or its change feed is down.",
    schema: { type: "string", examples: ["wait=30"] },
  },
];
const statusHeaders = {
  ETag: {
    description: "A strong validator of the body: it changes whenever anything the body shows changes.",
    schema: { type: "string" },
  },
  "Cache-Control": { description: "`private, no-cache`: revalidate (If-None-Match) every time.", schema: { type: "string" } },
  "Preference-Applied": {
    description: "`wait=N` when Prefer: wait=N was honoured (N capped at 60).",
    schema: { type: "string" },
  },
};
const statusAnswers = (ok: Json) => ({
  ...ok,
  "304": { description: "Not Modified: If-None-Match is the current ETag (also after a Prefer: wait that saw no change).", headers: statusHeaders },
  "503": error("Redis (the job store) is unreachable, also during a wait; retry later.", { headers: retryAfter }),
});
const idErrors = {
  "400": error("The id is not a UUID v4."),
  "404": error("No prediction has this id."),
  "410": error("The prediction existed but its retention period is over."),
};

/**
 * The OpenAPI 3.1 document, generated from the zod schemas in api-schemas.ts (the ones that
 * validate requests) with zod's own JSON Schema (draft 2020-12, the dialect OpenAPI 3.1 uses).
 */
export function buildOpenApi(opts: { maxBatchRows: number; version?: string }): Json {
  const schemas = apiSchemas(opts.maxBatchRows);
  const generated = z.toJSONSchema(schemas.registry, {
    target: "draft-2020-12",
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: "any",
  }).schemas;
  // Each component is embedded in the document: its own $schema/$id would re-base its $refs.
  const components = Object.fromEntries(
    Object.entries(generated).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
  );
  const measurements = components.Measurements as { properties: Record<string, Json> };
  const queryParams = Object.entries(measurements.properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: true,
    description: schema.description,
    schema,
  }));

  /** The JSON API's operations: X-Api-Token when API_TOKENS is set (`{}`: open when it is not). */
  const guarded = {
    security: [{ apiToken: [] }, {}],
  };
  const unauthorized = { "401": error("API_TOKENS is set and X-Api-Token is missing or not one of them.") };

  return {
    openapi: "3.1.0",
    info: {
      title: "Iris Report Service",
      version: opts.version ?? "1.0.0",
      description:
        "Classify iris flowers with a random forest, synchronously or as queued jobs that produce a PDF report. " +
        "Every client error is a 4xx JSON body {error, details?}; a browser gets an HTML page instead.",
    },
    paths: {
      "/predict": {
        get: {
          summary: "Predict one flower synchronously from the query string",
          operationId: "predictQuery",
          ...guarded,
          parameters: queryParams,
          responses: {
            ...unauthorized,
            "200": json("PredictionResult", "The species and class probabilities."),
            "400": error("A measurement is missing, not a number, out of range, or an unknown parameter was sent."),
          },
        },
        post: {
          summary: "Predict one flower (sync or async), or submit a batch (JSON or CSV upload)",
          operationId: "predict",
          ...guarded,
          description:
            '`{"input": {...}}` is answered synchronously (200) unless `Async-Mode: true` (202). `{"inputs": [...]}` and ' +
            "a CSV upload are always asynchronous: one job, one report covering every row. A browser's form post gets 303.",
          parameters: [
            {
              name: "Async-Mode",
              in: "header",
              required: false,
              description: "`true` queues a single prediction and answers 202.",
              schema: { type: "string", enum: ["true", "false"] },
            },
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description:
                "Any string (1-255 characters). The same key with the same request within the retention period returns " +
                "the same prediction_id and queues nothing new; with a different request it is refused (422); while the " +
                "first request with the key is still being queued, 409 with Retry-After.",
              schema: { type: "string", minLength: 1, maxLength: 255 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: ref("PredictRequest") },
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: ["file"],
                  properties: {
                    file: {
                      type: "string",
                      contentMediaType: "text/csv",
                      description: `A CSV with a header row naming ${Object.keys(measurements.properties).join(", ")} (any order) and at most ${opts.maxBatchRows} rows.`,
                    },
                  },
                },
              },
              "application/x-www-form-urlencoded": { schema: ref("Measurements") },
            },
          },
          responses: {
            "200": json("PredictionResult", "Synchronous answer for one flower."),
            "202": json("AsyncAccepted", "Queued. Follow Location (GET /predict/{id}).", {
              headers: {
                Location: { description: "/predict/{id}", schema: { type: "string" } },
                "Idempotent-Replayed": {
                  description: "`true` when an earlier request with this Idempotency-Key made the job.",
                  schema: { type: "string" },
                },
              },
            }),
            "303": { description: "Form post (browser): redirect to the progress page /jobs/{id}." },
            ...unauthorized,
            "403": error("A form post whose form token does not match this browser's session (reload the page)."),
            "400": error("Malformed JSON, unknown fields, or invalid measurements (each named in details; CSV by row)."),
            "413": error(`The body is over the size limit, or the batch has more than ${opts.maxBatchRows} rows.`),
            "415": error("Unsupported Content-Type."),
            "409": error("A request with this Idempotency-Key is still being processed; retry shortly.", {
              headers: retryAfter,
            }),
            "422": error("The Idempotency-Key was already used with a different request."),
            "503": error("The queue is full or the broker is unreachable; retry later.", { headers: retryAfter }),
          },
        },
      },
      "/predict/{id}": {
        parameters: [idParam],
        get: {
          summary: "Follow an asynchronous prediction",
          operationId: "getPrediction",
          ...guarded,
          description:
            "Poll with If-None-Match (304 while nothing changed), or long-poll with `Prefer: wait=N`: the answer comes on " +
            "the job's next change, or after N seconds.",
          parameters: statusParams,
          responses: {
            ...unauthorized,
            ...statusAnswers({
              "200": json("PredictionStatus", "Finished: the output and report URL, or the failure.", { headers: statusHeaders }),
              "202": json("PredictionPending", "Still queued or running.", { headers: statusHeaders }),
            }),
            ...idErrors,
          },
        },
        delete: {
          summary: "Cancel a prediction that has not finished (state REVOKED; the worker skips it)",
          operationId: "cancelPrediction",
          ...guarded,
          responses: {
            ...unauthorized,
            "200": json("PredictionStatus", "Cancelled."),
            ...idErrors,
            "409": error("The prediction has already finished."),
          },
        },
      },
      "/api/model": {
        get: {
          summary: "The model card",
          operationId: "modelCard",
          ...guarded,
          responses: {
            ...unauthorized,
            "200": json("ModelCard", "Version, algorithm, parameters, classes, features, accuracy, importance."),
          },
        },
      },
      "/progress": {
        get: {
          summary: "A job's state and progress (the progress page polls this)",
          operationId: "progress",
          description: "ETag / If-None-Match and `Prefer: wait=N` as for GET /predict/{id}.",
          parameters: [jobidQuery, ...statusParams],
          responses: { ...statusAnswers({ "200": json("Progress", "Current state.", { headers: statusHeaders }) }), ...idErrors },
        },
      },
      "/result": {
        get: {
          summary: "A finished job's PDF report",
          operationId: "result",
          parameters: [
            jobidQuery,
            { name: "inline", in: "query", required: false, description: "`1` to view in the browser.", schema: { type: "string" } },
          ],
          responses: {
            "200": { description: "The PDF.", content: { "application/pdf": { schema: { type: "string", contentMediaType: "application/pdf" } } } },
            ...idErrors,
            "409": error("The job has not finished, or it failed."),
          },
        },
      },
      "/openapi.json": {
        get: {
          summary: "This document",
          operationId: "openapi",
          responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } },
        },
      },
    },
    components: {
      schemas: components,
      securitySchemes: {
        apiToken: {
          type: "apiKey",
          in: "header",
          name: "X-Api-Token",
          description: "One of API_TOKENS, when the service is started with them; without API_TOKENS the API is open.",
        },
      },
    },
  };
}
