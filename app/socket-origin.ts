import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

/** Who may open a socket: the service's own origin, plus these. */
export interface OriginPolicy {
  /** ALLOWED_ORIGINS, normalised (normaliseOrigin). */
  allowedOrigins: readonly string[];
  /** TRUST_PROXY: the request's own scheme and host come from X-Forwarded-Proto / X-Forwarded-Host. */
  trustProxy: boolean;
}

/**
 * socket.io's `allowRequest` (run on every handshake, polling and WebSocket alike): refuses a
 * page from another site, so it cannot follow jobs through a visitor's browser (cross-site
 * WebSocket hijacking; WebSockets are not covered by CORS, so the Origin is the only defence).
 *
 * A request without an Origin header is allowed: browsers always send Origin on a WebSocket
 * handshake and on every cross-origin request, so a missing one means a non-browser client
 * (socket.io-client in Node, the benchmark, curl), which could send any Origin it liked anyway.
 * "null" (sandboxed frames, file: pages) is refused.
 */
export function originCheck(policy: OriginPolicy) {
  const allowed = new Set(policy.allowedOrigins);
  return (req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void => {
    const origin = req.headers.origin;
    const ok = origin === undefined || isAllowed(normaliseOrigin(origin), req);
    callback(ok ? null : "This origin may not connect.", ok);
  };

  function isAllowed(origin: string | null, req: IncomingMessage): boolean {
    return origin !== null && (allowed.has(origin) || origin === ownOrigin(req, policy.trustProxy));
  }
}

/**
 * The origin the request was addressed to: its scheme and Host header, as a browser on our own
 * page would write its Origin. Behind a trusted proxy (TLS usually ends there), the first
 * X-Forwarded-Proto / X-Forwarded-Host, as Koa reads them with `app.proxy` (ctx.protocol, ctx.host).
 */
function ownOrigin(req: IncomingMessage, trustProxy: boolean): string | null {
  const forwarded = (name: string) => {
    const value = trustProxy ? req.headers[name] : undefined;
    const first = (Array.isArray(value) ? value[0] : value)?.split(",", 1)[0]?.trim();
    return first || undefined;
  };
  const scheme = forwarded("x-forwarded-proto") ?? ((req.socket as TLSSocket).encrypted ? "https" : "http");
  const host = forwarded("x-forwarded-host") ?? req.headers.host;
  return host ? normaliseOrigin(`${scheme}://${host}`) : null;
}

/**
 * `raw` as a browser writes an Origin (`scheme://host[:port]`, lower case, default port left out),
 * or null when it is not an http(s) origin (another scheme, a path, a query, credentials).
 */
export function normaliseOrigin(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") return null;
  return url.origin;
}
