/**
 * Whether an error from the Redis client means "Redis cannot be reached right now" (refused,
 * dropped, hung, failing over, loading) rather than anything about the command or its data.
 * ioredis reports these in several shapes: MaxRetriesPerRequestError (the offline queue gave up),
 * "Command timed out" (commandTimeout: a hung server), "Connection is closed", "Stream isn't
 * writeable…" (no offline queue), "Command aborted due to connection close", a socket's errno
 * code, or a server reply that says it cannot serve now (LOADING, MASTERDOWN, READONLY after a
 * failover, BUSY, TRYAGAIN, CLUSTERDOWN).
 */
export function isStoreOutage(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown; code?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (e.name === "MaxRetriesPerRequestError" || e.name === "ClusterAllFailedError") return true;
  if (typeof e.code === "string" && SOCKET_CODES.has(e.code)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  return CLIENT_MESSAGES.test(message) || SERVER_REPLIES.test(message);
}

/** Socket errno codes of a connection that could not be made or was lost. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** The client's own words for a connection that is not there (message text, since they have no code). */
const CLIENT_MESSAGES =
  /Connection is closed|Command timed out|Stream isn't writeable|Command aborted due to connection close|Socket timeout|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|All sentinels are unreachable|None of (the )?sentinels are available/;

/** Redis replies that mean "not now" from the server side. */
const SERVER_REPLIES = /^(LOADING|MASTERDOWN|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN|MISCONF)\b/;
