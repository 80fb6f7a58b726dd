import Router from "@koa/router";

/**
 * Every router of the app: case-sensitive and strict (no trailing-slash tolerance), so each route
 * has exactly one spelling. `/Predict`, `/predict/`, `//predict` and `/%70redict` are not
 * `/predict`: they are 404, never the same route seen by a guard under another name. Guards are
 * attached to the routes they guard (app/routes/table.ts), so they see what the route sees.
 */
export function createRouter(): Router {
  return new Router({ sensitive: true, strict: true });
}
