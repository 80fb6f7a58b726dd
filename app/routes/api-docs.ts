import { createRequire } from "node:module";
import { dirname } from "node:path";
import type Router from "@koa/router";
import { createRouter } from "./router.js";
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
export function apiDocsRoutes(deps: { model: Model; maxBatchRows: number; guard: Middleware }): Router {
  const router = createRouter();
  const document = buildOpenApi({ maxBatchRows: deps.maxBatchRows });

  router.get("/api/model", deps.guard, (ctx) => {
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

/** The files of swagger-ui-dist the docs page loads; nothing else of the package (its package.json, README, source maps, sample page) is served. */
const SWAGGER_FILES = new Set(["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui-standalone-preset.js"]);

/** Swagger UI's static files under /docs/, exactly the ones the page uses. */
export function swaggerAssets(): Middleware {
  const assets = mount("/docs", serve(SWAGGER_DIR, { index: false, maxage: 86_400_000 }));
  return (ctx, next) => (SWAGGER_FILES.has(ctx.path) && (ctx.method === "GET" || ctx.method === "HEAD") ? assets(ctx, next) : next());
}
