import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { helmetHeaders } from "../../app/middleware/security.js";
import { memoryApp } from "../helpers/memory-app.js";
import { waitFor } from "../helpers/wait-for.js";

// Koa's responses get the security headers from its own middleware only (the server-level
// listener in app/realtime.ts covers socket.io's paths): every kind of answer must carry them.
describe("the security headers on every kind of Koa response", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  let jobid = "";
  before(async () => {
    t = await memoryApp({}, { worker: true });
    http = request(t.app.callback());
    const res = await http
      .post("/predict")
      .set("Accept", "application/json")
      .set("Async-Mode", "true")
      .send({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    jobid = res.body.prediction_id;
    await waitFor(
      async () => (await http.get(`/predict/${jobid}`).set("Accept", "application/json")).body.state === "SUCCESS",
      {
        what: "the job to finish",
      },
    );
  });
  after(() => t.close());

  const cases: Array<[string, () => request.Test, number]> = [
    ["the form page", () => http.get("/"), 200],
    ["a static file", () => http.get("/style.css"), 200],
    ["a job's status (JSON)", () => http.get(`/predict/${jobid}`).set("Accept", "application/json"), 200],
    ["the PDF", () => http.get(`/result?jobid=${jobid}`), 200],
    ["a validation failure", () => http.post("/predict").set("Accept", "application/json").send({ input: {} }), 400],
    ["an unknown path", () => http.get("/no-such-page"), 404],
    ["a wrong method", () => http.delete("/predict"), 405],
    ["the liveness probe", () => http.get("/healthz"), 200],
  ];
  for (const [what, send, status] of cases) {
    it(`${what} (${status})`, async () => {
      const res = await send();
      assert.equal(res.status, status, `${what}: ${res.status} ${res.text?.slice(0, 200)}`);
      for (const [name, value] of helmetHeaders())
        assert.equal(res.headers[name.toLowerCase()], value, `${what}: ${name}`);
    });
  }
});
