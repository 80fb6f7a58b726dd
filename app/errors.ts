import type { Context, Next } from "koa";
import {
  JobExpiredError,
  JobNotFoundError,
  JobStateConflictError,
  QueueFullError,
  QueueUnavailableError,
  RateLimitedError,
  StoreUnavailableError,
  UnauthorizedError,
  ValidationError,
} from "../tasks/errors.js";
import type { Logger } from "../tasks/logger.js";

/** An HTTP-level refusal that is not a domain error (413, 415, 405…). */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The one table from domain errors to status codes. */
const STATUS: Array<[ErrorClass, number]> = [
  [ValidationError, 400],
  [JobNotFoundError, 404],
  [JobExpiredError, 410],
  [JobStateConflictError, 409],
  [QueueFullError, 503],
  [QueueUnavailableError, 503],
  [StoreUnavailableError, 503],
  [RateLimitedError, 429],
  [UnauthorizedError, 401],
];

const INTERNAL = "Something went wrong on our side. Please try again.";

/** The response an error deserves: status, a sentence, optional details and headers. */
export function describeError(err: unknown): {
  status: number;
  body: { error: string; details?: unknown; state?: string };
  headers: Record<string, string>;
  expose: boolean;
} {
  const headers: Record<string, string> = {};
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message }, headers, expose: true };
  for (const [cls, status] of STATUS) {
    if (err instanceof cls) {
      const body: { error: string; details?: unknown; state?: string } = { error: err.message };
      if (err instanceof ValidationError && err.details.length) body.details = err.details;
      if (err instanceof JobStateConflictError) body.state = err.state;
      if (
        err instanceof QueueFullError ||
        err instanceof QueueUnavailableError ||
        err instanceof StoreUnavailableError ||
        err instanceof RateLimitedError
      ) {
        headers["Retry-After"] = String(err.retryAfterSec);
      }
      return { status, body, headers, expose: true };
    }
  }
  // Errors from koa-body / raw-body / http-errors carry a 4xx status and a safe message.
  const e = err as { status?: number; statusCode?: number; expose?: boolean; type?: string } | null;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { status, body: { error: clientMessage(status, e?.type) }, headers, expose: true };
  }
  return { status: 500, body: { error: INTERNAL }, headers, expose: false };
}

function clientMessage(status: number, type?: string): string {
  if (status === 413) return "The request body is too large.";
  if (status === 415) return "This content type is not supported.";
  if (type === "entity.parse.failed" || status === 400) return "The request body could not be parsed.";
  if (status === 404) return "Not found.";
  if (status === 405) return "This method is not allowed here.";
  return "The request could not be processed.";
}

/** First middleware: turns any thrown error into JSON or an HTML page; stacks go to the log only. */
export function errorHandler(opts: { logger: Logger }) {
  return async function handleErrors(ctx: Context, next: Next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, "Not found.");
    } catch (err) {
      const { status, body, headers, expose } = describeError(err);
      if (!expose) opts.logger.error({ err, method: ctx.method, path: ctx.path }, "unhandled error");
      ctx.status = status;
      ctx.set(headers);
      if (ctx.accepts("json", "html") === "html" && !ctx.is("json")) {
        ctx.type = "html";
        ctx.body = renderErrorPage(ctx, status, body.error, opts.logger);
      } else {
        ctx.body = body;
      }
    }
  };
}

/** The HTML error page; if the template itself fails, the plain sentence (never Koa's default page). */
function renderErrorPage(ctx: Context, status: number, message: string, logger: Logger): string {
  try {
    return ctx.state.render?.("error.njk", { status, message }) ?? message;
  } catch (err) {
    logger.error({ err }, "error page template failed");
    ctx.type = "text";
    return message;
  }
}
