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
