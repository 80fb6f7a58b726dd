import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { HttpError } from "../errors.js";

/** The cookie that carries a dashboard token after it was given once in the URL. */
export const DASHBOARD_COOKIE = "iris_dashboard_token";

const digest = (s: string) => createHash("sha256").update(s).digest();

/** True when `candidate` is one of `tokens`; compares digests in constant time. */
export function tokenMatches(tokens: readonly string[], candidate: string): boolean {
  const d = digest(candidate);
  let found = false;
  for (const t of tokens) found = timingSafeEqual(digest(t), d) || found;
  return found;
}

/**
 * Lets a request through when `tokens` is empty or it carries one of them: as `X-Api-Token`, as
 * `?token=` (a person opening the page in a browser: the token moves into an HttpOnly cookie and
 * the browser is redirected to the same URL without it, so it does not stay in the address bar
 * or history), or as that cookie. Otherwise 401.
 */
export function tokenGate(opts: { tokens: readonly string[]; cookiePath: string }) {
  return async function requireToken(ctx: Context, next: Next) {
    if (opts.tokens.length === 0) return next();
    const fromQuery = typeof ctx.query.token === "string" ? ctx.query.token : undefined;
    const candidate = ctx.get("X-Api-Token") || fromQuery || ctx.cookies.get(DASHBOARD_COOKIE) || "";
    if (!candidate || !tokenMatches(opts.tokens, candidate)) {
      throw new HttpError(
        401,
        "This page needs an API token: send it as X-Api-Token, or open the page once as /dashboard?token=<your token>.",
      );
    }
    if (fromQuery !== undefined && candidate === fromQuery && ctx.method === "GET") {
      ctx.cookies.set(DASHBOARD_COOKIE, fromQuery, {
        httpOnly: true,
        sameSite: "strict",
        path: opts.cookiePath,
        secure: ctx.secure,
        overwrite: true,
      });
      const query = new URLSearchParams(ctx.querystring);
      query.delete("token");
      const rest = query.toString();
      ctx.set("Cache-Control", "no-store");
      ctx.redirect(rest ? `${ctx.path}?${rest}` : ctx.path);
      return;
    }
    await next();
  };
}
