// Small answers that used to mislead: each refusal names what is really at fault.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { memoryApp } from "../helpers/memory-app.js";

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

describe("answers that say what is at fault", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp();
    http = request(t.app.callback());
  });
  after(() => t.close());

  it("media types are case-insensitive, and any application/*+json is JSON", async () => {
    for (const type of ["Application/Json", "APPLICATION/JSON; charset=UTF-8", "application/vnd.iris+json", "application/problem+json"]) {
      const res = await http.post("/predict").set("Content-Type", type).send(JSON.stringify({ input: SETOSA }));
      assert.equal(res.status, 200, `${type}: ${res.text}`);
      assert.equal(res.body.result, "setosa");
    }
    const form = await http
      .post("/predict")
      .set("Content-Type", "Application/X-WWW-Form-Urlencoded")
      .send("sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2");
    assert.equal(form.status, 303, form.text);
  });

  it("an unsupported Content-Encoding blames the encoding, not the content type", async () => {
    const res = await http.post("/predict").set("Content-Type", "application/json").set("Content-Encoding", "xz").send("{}");
    assert.equal(res.status, 415);
    assert.match(res.body.error, /Content-Encoding/);
    assert.equal(res.body.details[0].field, "Content-Encoding");
  });

  it("/result of a cancelled job says it was cancelled", async () => {
    const accepted = await http.post("/predict").set("Async-Mode", "true").send({ input: SETOSA }).expect(202);
    const id = accepted.body.prediction_id as string;
    await http.delete(`/predict/${id}`).expect(200);
    const res = await http.get(`/result?jobid=${id}`).set("Accept", "application/json");
    assert.equal(res.status, 409);
    assert.equal(res.body.state, "REVOKED");
    assert.match(res.body.error, /cancelled/);
  });

  it("TRACE (or any unknown method) on a route is 405 with the path's methods in Allow; on no route, 404", async () => {
    const trace = await http.trace("/predict").set("Accept", "application/json");
    assert.equal(trace.status, 405);
    const allow = (trace.headers.allow ?? "").split(/,\s*/);
    for (const m of ["GET", "HEAD", "POST"]) assert.ok(allow.includes(m), `Allow: ${trace.headers.allow}`);
    const id = await http.trace(`/predict/${crypto.randomUUID()}`);
    assert.equal(id.status, 405);
    assert.match(id.headers.allow!, /DELETE/);
    await http.trace("/no-such-path").expect(404);
  });

  it("/docs serves the files its page loads and nothing else of swagger-ui-dist", async () => {
    await http.get("/docs").expect(200);
    await http.get("/docs/swagger-ui.css").expect(200);
    await http.get("/docs/swagger-ui-bundle.js").expect(200);
    for (const path of [
      "/docs/package.json",
      "/docs/README.md",
      "/docs/swagger-ui.js.map",
      "/docs/swagger-ui-bundle.js.map",
      "/docs/index.js",
      "/docs/absolute-path.js",
      "/docs/swagger-initializer.js",
      "/docs/LICENSE",
    ]) {
      const res = await http.get(path);
      assert.equal(res.status, 404, path);
    }
  });

  it("a POST with no body and no type says the body is empty", async () => {
    const res = await http.post("/predict").set("Accept", "application/json");
    assert.equal(res.status, 400);
    assert.match(res.body.error, /empty/);
  });
});
