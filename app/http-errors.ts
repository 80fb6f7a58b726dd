import type { FieldIssue } from "../tasks/errors.js";

/**
 * The web's own refusals: errors only an HTTP request meets (a status of their own, or a header
 * named in their words). app/errors.ts maps them, with the domain errors of tasks/errors.ts, to
 * responses.
 */

/** An HTTP-level refusal that is not a domain error (413, 415, 405…), optionally naming the field at fault. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly details: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The error router.allowedMethods throws (wrong or unknown method): always 405, never 501. */
export function methodNotAllowed(): HttpError {
  return new HttpError(405, "This method is not allowed here.", [
    { field: "method", message: "This path does not accept this HTTP method; see the Allow header." },
  ]);
}

/** 413 for a batch over MAX_BATCH_ROWS; `rows` when the total is known (a CSV is counted as it streams, so it is not). */
export function tooManyRows(max: number, field: string, rows?: number): HttpError {
  const has = rows === undefined ? "this file has more" : `this one has ${rows}`;
  return new HttpError(413, `A batch may hold at most ${max} rows; ${has}.`, [
    { field, message: `At most ${max} rows (MAX_BATCH_ROWS).` },
  ]);
}

/** An earlier request with the same Idempotency-Key is still being submitted: retry shortly. */
export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
  constructor(readonly retryAfterSec = 1) {
    super("A request with this Idempotency-Key is still being processed; retry shortly.");
  }
}

/** The client submitted more than RATE_LIMIT_PER_MINUTE jobs in a minute. */
export class RateLimitedError extends Error {
  override name = "RateLimitedError";
  constructor(readonly retryAfterSec: number) {
    super("Too many submissions from your address; please wait a moment and try again.");
  }
}

/** The JSON API needs a valid X-Api-Token. */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";
  constructor() {
    super("A valid X-Api-Token header is required for the JSON API.");
  }
}
