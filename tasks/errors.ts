/** Domain errors. No HTTP in here: app/errors.ts maps them to responses. */

/** One problem with one field (or CSV row) of a request. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A request or job input that does not satisfy the contract. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    message: string,
    readonly details: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** The job id is well-formed but no such job exists. */
export class JobNotFoundError extends Error {
  override name = "JobNotFoundError";
  constructor(readonly jobid: string) {
    super("No job with this id exists.");
  }
}

/** The job existed but its retention period is over. */
export class JobExpiredError extends Error {
  override name = "JobExpiredError";
  constructor(readonly jobid: string) {
    super("This job's results have expired and were deleted.");
  }
}

/** The job is not in a state that allows the operation. */
export class JobStateConflictError extends Error {
  override name = "JobStateConflictError";
  constructor(
    message: string,
    readonly state: string,
  ) {
    super(message);
  }
}

/** The broker cannot take jobs right now. */
export class QueueUnavailableError extends Error {
  override name = "QueueUnavailableError";
  constructor(
    message = "The job queue is unavailable; please try again shortly.",
    readonly retryAfterSec = 5,
  ) {
    super(message);
  }
}

/** The job store (Redis) cannot be reached right now. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(readonly retryAfterSec = 2) {
    super("The service is temporarily unavailable; please try again shortly.");
  }
}

/** The queue holds more jobs than MAX_QUEUE_DEPTH. */
export class QueueFullError extends Error {
  override name = "QueueFullError";
  constructor(readonly retryAfterSec = 5) {
    super("Too many jobs are waiting; please try again shortly.");
  }
}

/** A queue message that can never be processed (poison): it goes to the dead-letter queue. */
export class InvalidJobError extends Error {
  override name = "InvalidJobError";
}

/** A configuration variable with a bad value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
