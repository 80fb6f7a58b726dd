import type { Context, Next } from "koa";
import {
  JobExpiredError,
  JobNotFoundError,
  JobStateConflictError,
  QueueFullError,
  QueueUnavailableError,
  StoreUnavailableError,
  ValidationError,
} from "../tasks/errors.js";
import { ReportStoreUnavailableError } from "../tasks/report-store/errors.js";
import type { Logger } from "../tasks/logger.js";
import { HttpError, IdempotencyConflictError, RateLimitedError, UnauthorizedError } from "./http-errors.js";
import { markUnavailable } from "./middleware/request-log.js";

type ErrorClass = abstract new (...args: never[]) => Error;

/** The one table from domain errors (and the web's own refusals) to status codes. */
const STATUS: Array<[ErrorClass, number]> = [
  [ValidationError, 400],
  [JobNotFoundError, 404],
  [JobExpiredError, 410],
  [JobStateConflictError, 409],
  [IdempotencyConflictError, 409],
  [QueueFullError, 503],
  [QueueUnavailableError, 503],
  [StoreUnavailableError, 503],
  [ReportStoreUnavailableError, 503],
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
  if (err instanceof HttpError) {
    const body: { error: string; details?: unknown } = { error: err.message };
    if (err.details.length) body.details = err.details;
    return { status: err.status, body, headers, expose: true };
  }
  for (const [cls, status] of STATUS) {
    if (err instanceof cls) {
      const body: { error: string; details?: unknown; state?: string } = { error: err.message };
      if (err instanceof ValidationError && err.details.length) body.details = err.details;
      if (err instanceof JobStateConflictError) body.state = err.state;
      if (
        err instanceof QueueFullError ||
        err instanceof IdempotencyConflictError ||
        err instanceof QueueUnavailableError ||
        err instanceof StoreUnavailableError ||
        err instanceof ReportStoreUnavailableError ||
        err instanceof RateLimitedError
      ) {
        headers["Retry-After"] = String(err.retryAfterSec);
      }
      return { status, body, headers, expose: true };
    }
  }
  const message = (err as { message?: unknown } | null)?.message;
  // inflation (co-body's decompressor): the encoding is at fault, not the content type.
  if (typeof message === "string" && message.startsWith("Unsupported Content-Encoding")) {
    const error = "This Content-Encoding is not supported; send the body uncompressed, or compressed with gzip, deflate or br.";
    return { status: 415, body: { error, details: [{ field: "Content-Encoding", message: error }] }, headers, expose: true };
  }
  // qs (the urlencoded parser) past its parameterLimit.
  if (typeof message === "string" && message.startsWith("Parameter limit exceeded")) {
    const error = "The form has too many fields.";
    return { status: 413, body: { error, details: [{ field: "body", message: error }] }, headers, expose: true };
  }
  // Errors from koa-body / raw-body / http-errors carry a 4xx status and a safe message.
  const e = err as { status?: number; statusCode?: number; expose?: boolean; type?: string } | null;
  const status = e?.status ?? e?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const error = clientMessage(status, e?.type, (err as Error).message);
    return { status, body: { error, details: [{ field: fieldAtFault(status), message: error }] }, headers, expose: true };
  }
  const code = (err as { code?: unknown } | null)?.code;
  // A compressed body (Content-Encoding) that does not decompress: zlib's (Z_…) and brotli's (ERR__…) errors.
  if (typeof code === "string" && /^(Z_|ERR__)|BROTLI|ZSTD|ZLIB/.test(code)) {
    const error = "The request body could not be decompressed.";
    return { status: 400, body: { error, details: [{ field: "Content-Encoding", message: error }] }, headers, expose: true };
  }
  return { status: 500, body: { error: INTERNAL }, headers, expose: false };
}

function fieldAtFault(status: number): string {
  if (status === 415) return "Content-Type";
  if (status === 405) return "method";
  if (status === 404) return "path";
  return "body";
}

function clientMessage(status: number, type?: string, message?: string): string {
  // @hapi/bourne (co-body's JSON parser) refuses prototype-poisoning keys.
  if (status === 400 && message?.includes("forbidden prototype property")) {
    return 'The request body may not contain the key "__proto__".';
  }
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
      // A dependency refused, dropped or timed out: the client gets a sentence, the operator the
      // reason (which dependency, and how) on the request's own line (middleware/request-log.ts).
      else if (status === 503 && err instanceof Error) markUnavailable(ctx, err);
      ctx.status = status;
      ctx.set(headers);
      if (status === 405) {
        const allow = allowedMethods(ctx);
        // A method no route knows, on a path no route has, is a path not found.
        if (!allow) return notFound(ctx, opts.logger);
        ctx.set("Allow", allow);
      }
      if (ctx.accepts("json", "html") === "html" && !ctx.is("json")) {
        ctx.type = "html";
        ctx.body = renderErrorPage(ctx, status, body.error, opts.logger);
      } else {
        ctx.body = body;
      }
    }
  };
}

function notFound(ctx: Context, logger: Logger): void {
  ctx.status = 404;
  const error = "Not found.";
  if (ctx.accepts("json", "html") === "html" && !ctx.is("json")) {
    ctx.type = "html";
    ctx.body = renderErrorPage(ctx, 404, error, logger);
  } else {
    ctx.body = { error, details: [{ field: "path", message: error }] };
  }
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

/** The methods the routes matching this path accept, for a 405's Allow header. */
function allowedMethods(ctx: Context): string {
  const matched = (ctx as Context & { matched?: Array<{ methods: string[] }> }).matched ?? [];
  return [...new Set(matched.flatMap((layer) => layer.methods))].join(", ");
}
