// The yardstick for synchronous predict: Koa answering a small JSON body, nothing else.
import Koa from "koa";

const app = new Koa();
app.use((ctx) => {
  ctx.body = { result: "setosa", probabilities: { setosa: 1, versicolor: 0, virginica: 0 } };
});
app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
