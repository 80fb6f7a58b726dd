/** Why the report store is not usable right now, as /readyz says it. */
export type ReportStoreOutage = "unreachable" | "bucket missing";

/**
 * The report store cannot be reached, or its bucket does not exist: an outage, not the job's
 * fault. The worker holds the job until the store answers; the web answers 503 with Retry-After.
 */
export class ReportStoreUnavailableError extends Error {
  override name = "ReportStoreUnavailableError";
  constructor(
    readonly reason: ReportStoreOutage = "unreachable",
    readonly retryAfterSec = 2,
  ) {
    super("The report storage is temporarily unavailable; please try again shortly.");
  }
}

/** The report store answered but refused (access denied, a bad request): the attempt fails like a failed file write. */
export class ReportStoreError extends Error {
  override name = "ReportStoreError";
  /** What the store answered, for an operator ("Forbidden (403)"), when it answered. */
  readonly answer: string | undefined;
  constructor(message: string, opts: { cause?: unknown; answer?: string } = {}) {
    super(message, { cause: opts.cause });
    this.answer = opts.answer;
  }
}
