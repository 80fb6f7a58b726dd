import type { Context, Next } from "koa";
import { UnauthorizedError } from "../http-errors.js";
import { secretMatches } from "./tokens.js";

/** True when API_TOKENS is empty (the API is open) or the request's X-Api-Token is one of them. */
export function hasApiToken(ctx: Context, tokens: readonly string[]): boolean {
  return tokens.length === 0 || secretMatches(tokens, ctx.get("X-Api-Token"));
}

/**
 * Route middleware for the JSON API's routes: with API_TOKENS set, a request without one of them
 * in X-Api-Token is answered 401 before anything else (its body is never read). It is attached to
 * the routes it guards, so it sees exactly the request the route sees (app/routes/table.ts).
 */
export function requireApiToken(tokens: readonly string[]) {
  return async function checkApiToken(ctx: Context, next: Next) {
    if (!hasApiToken(ctx, tokens)) throw new UnauthorizedError();
    await next();
  };
}
