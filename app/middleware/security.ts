import type { Middleware } from "koa";
import helmet from "koa-helmet";

/**
 * Security headers on every response (koa-helmet): a Content-Security-Policy that forbids inline
 * script and style and anything from another host, plus helmet's usual companions
 * (X-Content-Type-Options, Referrer-Policy, X-Frame-Options SAMEORIGIN, HSTS…).
 *
 * - `frame-src 'self'` / `frame-ancestors 'self'`: the progress page previews its own PDF inline.
 * - `connect-src 'self'` covers the socket.io WebSocket to the same host.
 * - no `upgrade-insecure-requests`: the service is often run on plain HTTP (localhost, behind a
 *   TLS-terminating proxy that sets its own policy); upgrading would break those set-ups.
 */
export function securityHeaders(): Middleware {
  const headers = helmetHeaders();
  // The same headers on every response; set directly, they cost a fraction of running helmet's
  // dozen middlewares per request (a visible share of a synchronous predict's CPU).
  return function setSecurityHeaders(ctx, next) {
    for (const [name, value] of headers) ctx.res.setHeader(name, value);
    return next();
  };
}

/**
 * What koa-helmet sets, recorded once: with this configuration (no per-request nonce) helmet's
 * headers do not depend on the request, and helmet sets them synchronously. The one list for Koa's
 * responses and socket.io's own (app/realtime.ts).
 */
export function helmetHeaders(): Array<[string, string]> {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: unknown) => void headers.set(name, String(value)),
    removeHeader: (name: string) => void headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  // Only the synchronous setHeader calls matter here; the middleware's promise is not.
  Promise.resolve(
    helmetMiddleware()({ req: { headers: {}, method: "GET", url: "/" }, res } as never, async () => {}),
  ).catch(() => {});
  if (!headers.has("Content-Security-Policy")) throw new Error("helmet set no Content-Security-Policy synchronously");
  return [...headers];
}

function helmetMiddleware(): Middleware {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "base-uri": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
        "frame-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "script-src": ["'self'"],
        "script-src-attr": ["'none'"],
        "style-src": ["'self'"],
      },
    },
  });
}
