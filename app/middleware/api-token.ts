import { timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { UnauthorizedError } from "../../tasks/errors.js";

/**
 * The JSON API — every /predict and /api/ request except the HTML form's own posts — needs
 * X-Api-Token when API_TOKENS is set. The pages stay open.
 */
export function requireApiToken(tokens: string[]) {
  const accepted = tokens.map((t) => Buffer.from(t));
  const valid = (given: string) => {
    const g = Buffer.from(given);
    return accepted.some((t) => t.length === g.length && timingSafeEqual(t, g));
  };
  return async function checkApiToken(ctx: Context, next: Next) {
    if (accepted.length > 0 && isJsonApi(ctx) && !valid(ctx.get("X-Api-Token"))) throw new UnauthorizedError();
    await next();
  };
}

function isJsonApi(ctx: Context): boolean {
  if (ctx.path.startsWith("/api/")) return true;
  if (ctx.path !== "/predict" && !ctx.path.startsWith("/predict/")) return false;
  if (ctx.method !== "POST" || ctx.path !== "/predict") return true;
  // The form page's own posts: the measurements form (urlencoded), and its CSV upload when a
  // browser sends it (it answers 303 to the progress page). A program's CSV upload is the API.
  if (ctx.is("urlencoded")) return false;
  if (ctx.is("multipart")) return ctx.accepts("json", "html") !== "html";
  return true;
}
