import type { Context, Next } from "koa";
import { HttpError } from "../http-errors.js";
import { secretMatches, sign } from "./tokens.js";

/** The cookie that lets a browser back in after it gave a dashboard token once in the URL. */
export const DASHBOARD_COOKIE = "iris_dashboard_session";

/** How long that cookie is valid. */
const SESSION_MS = 12 * 3600_000;

/**
 * The cookie's value: an expiry and an HMAC of it under the token. It proves the token was given,
 * but neither contains nor reveals it; every web process that has the same API_TOKENS can check
 * it, and removing a token from API_TOKENS ends its sessions.
 */
function sessionValue(token: string, expires: number): string {
  return `${expires}.${sign(token, `iris-dashboard:${expires}`)}`;
}

function validSession(tokens: readonly string[], value: string | undefined, now: number): boolean {
  const match = /^(\d{13})\.([\w-]{43})$/.exec(value ?? "");
  if (!match) return false;
  const expires = Number(match[1]);
  if (expires <= now || expires > now + SESSION_MS) return false;
  return secretMatches(
    tokens.map((t) => sign(t, `iris-dashboard:${expires}`)),
    match[2]!,
  );
}

/**
 * The dashboard's gate (API_TOKENS is required for DASHBOARD=on, app/config.ts): a request passes
 * with one of the tokens as `X-Api-Token`, or as `?token=` once (a person opening the page: a
 * session cookie is set, HttpOnly and SameSite=Strict, and the browser is redirected to the same
 * URL without the token, so it stays out of the address bar and history), or with that cookie.
 * Otherwise 401.
 */
export function dashboardGate(opts: { tokens: readonly string[]; cookiePath: string; now?: () => number }) {
  const now = opts.now ?? Date.now;
  return async function requireToken(ctx: Context, next: Next) {
    const header = ctx.get("X-Api-Token");
    const fromQuery = typeof ctx.query.token === "string" ? ctx.query.token : undefined;
    if (header && secretMatches(opts.tokens, header)) return next();
    if (fromQuery !== undefined && secretMatches(opts.tokens, fromQuery) && ctx.method === "GET") {
      ctx.cookies.set(DASHBOARD_COOKIE, sessionValue(fromQuery, now() + SESSION_MS), {
        httpOnly: true,
        sameSite: "strict",
        path: opts.cookiePath,
        secure: ctx.secure,
        maxAge: SESSION_MS,
        overwrite: true,
      });
      const query = new URLSearchParams(ctx.querystring);
      query.delete("token");
      const rest = query.toString();
      ctx.set("Cache-Control", "no-store");
      ctx.redirect(rest ? `${ctx.path}?${rest}` : ctx.path);
      return;
    }
    if (!header && fromQuery === undefined && validSession(opts.tokens, ctx.cookies.get(DASHBOARD_COOKIE), now())) {
      return next();
    }
    throw new HttpError(
      401,
      "This page needs an API token: send it as X-Api-Token, or open the page once as /dashboard?token=<your token>.",
    );
  };
}
