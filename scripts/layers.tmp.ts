import Koa from "koa";
import { createLogger, fixedFieldsLogger } from "../tasks/logger.js";
import { loadModel } from "../tasks/model/load.js";
import { securityHeaders } from "../app/middleware/security.js";
const layer = process.env.LAYER ?? "bare";
const app = new Koa();
const model = loadModel();
const log = fixedFieldsLogger(createLogger({ level: "info" }));
if (layer.includes("helmet")) app.use(securityHeaders());
if (layer.includes("log")) app.use(async (ctx, next) => { const t = performance.now(); await next(); log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: performance.now() - t }, "request"); });
app.use((ctx) => {
  if (layer.includes("model")) { const q = ctx.query; ctx.body = model.predict({ sepal_length: Number(q.sepal_length), sepal_width: Number(q.sepal_width), petal_length: Number(q.petal_length), petal_width: Number(q.petal_width) }); }
  else ctx.body = { result: "setosa", probabilities: { setosa: 1, versicolor: 0, virginica: 0 } };
});
app.listen(Number(process.env.PORT), "127.0.0.1", () => console.error("ready"));
