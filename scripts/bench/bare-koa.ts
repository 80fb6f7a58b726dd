// The yardstick for synchronous predict: Koa answering a small JSON body, nothing else.
// BARE=status answers what a status request for a finished job gets instead (the service's
// security headers, an ETag, Cache-Control and a body of the same size): the floor of a poll.
import Koa from "koa";
import { securityHeaders } from "../../app/middleware/security.js";

const app = new Koa();
if (process.env.BARE === "status") {
  const id = "a3649944-04ee-44dc-ac30-f31ce5d4e3cd";
  const body = {
    prediction_id: id,
    state: "SUCCESS",
    output: {
      input: { sepal_length: 6.7, sepal_width: 3, petal_length: 5.8, petal_width: 2.2 },
      result: "virginica",
      probabilities: { setosa: 0, versicolor: 0.02, virginica: 0.98 },
    },
    report_url: `/result?jobid=${id}`,
  };
  app.use(securityHeaders());
  app.use((ctx) => {
    ctx.set("ETag", '"QoJmmFXGyjVFl9JR7sWYyBm8r_I1c_jc"');
    ctx.set("Cache-Control", "private, no-cache");
    ctx.body = body;
  });
} else {
  app.use((ctx) => {
    ctx.body = { result: "setosa", probabilities: { setosa: 1, versicolor: 0, virginica: 0 } };
  });
}
app.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
