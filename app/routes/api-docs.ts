import { createRequire } from "node:module";
import { dirname } from "node:path";
import Router from "@koa/router";
import type { Middleware } from "koa";
import mount from "koa-mount";
import serve from "koa-static";
import type { Model } from "../../tasks/model/load.js";
import { buildOpenApi } from "../openapi.js";

/** swagger-ui-dist's folder in node_modules: Swagger UI is served from here, never from a CDN. */
const SWAGGER_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** The docs page: Swagger UI's files plus our initializer (no inline script, so a strict CSP holds). */
const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Iris Report Service · API docs</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/swagger-init.js"></script>
</body>
</html>
`;

/** GET /api/model, GET /openapi.json and the Swagger UI page at /docs. */
export function apiDocsRoutes(deps: { model: Model; maxBatchRows: number }): Router {
  const router = new Router();
  const document = buildOpenApi({ maxBatchRows: deps.maxBatchRows });

  router.get("/api/model", (ctx) => {
    const { version, algorithm, parameters, classes, features, training_samples } = deps.model.card;
    const { oob_accuracy, cv_accuracy, cv_folds, feature_importance, trained_at } = deps.model.card;
    ctx.body = {
      version,
      algorithm,
      parameters,
      classes,
      features,
      training_samples,
      oob_accuracy,
      cv_accuracy,
      cv_folds,
      feature_importance,
      trained_at,
    };
  });

  router.get("/openapi.json", (ctx) => {
    ctx.body = document;
  });

  router.get(["/docs", "/docs/", "/docs/index.html"], (ctx) => {
    ctx.type = "html";
    ctx.body = DOCS_HTML;
  });

  return router;
}

/** Swagger UI's static files under /docs/ (its sample index and petstore initializer are not served). */
export function swaggerAssets(): Middleware {
  const assets = mount("/docs", serve(SWAGGER_DIR, { index: false, maxage: 86_400_000 }));
  return (ctx, next) => {
    if (!ctx.path.startsWith("/docs/") || ctx.path === "/docs/index.html" || ctx.path.endsWith("swagger-initializer.js")) {
      return next();
    }
    return assets(ctx, next);
  };
}
