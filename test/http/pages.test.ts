import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { memoryApp } from "../helpers/memory-app.js";
import { waitFor } from "../helpers/wait-for.js";

const virginica = { sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.8", petal_width: "2.2" };

describe("pages and job endpoints (memory adapters)", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp({}, { worker: true });
    http = request(t.app.callback());
  });
  after(() => t.close());

  it("GET / serves the form with the four inputs and their limits", async () => {
    const res = await http.get("/").expect(200).expect("content-type", /html/);
    for (const name of ["sepal_length", "sepal_width", "petal_length", "petal_width"]) {
      assert.match(res.text, new RegExp(`name="${name}"[^>]*`));
    }
    assert.match(res.text, /min="0.01" max="10" step="0.01" required/);
    assert.doesNotMatch(res.text, /<script>(?!<\/script>)/, "no inline script");
  });

  it("POST /predict (form) answers 303 to the job page and the job completes", async () => {
    const res = await http.post("/predict").type("form").send(virginica).expect(303);
    const jobid = res.headers.location.split("/").pop();
    assert.match(res.headers.location, /^\/jobs\//);
    const page = await http.get(res.headers.location).expect(200);
    assert.match(page.text, /<progress/);
    const done = await waitFor(async () => {
      const body = (await http.get(`/progress?jobid=${jobid}`).expect(200)).body;
      return body.state === "SUCCESS" ? body : null;
    });
    assert.equal(done.result, "virginica");
    assert.equal(done.progress, 1);
    const pdf = await http.get(`/result?jobid=${jobid}`).expect(200).expect("content-type", "application/pdf");
    assert.equal(pdf.headers["content-disposition"], `attachment; filename="iris-report-${jobid}.pdf"`);
    assert.equal(Number(pdf.headers["content-length"]), pdf.body.length);
    assert.equal(pdf.body.subarray(0, 5).toString(), "%PDF-");
    // HEAD: the same headers from the report's size, no body.
    const head = await http.head(`/result?jobid=${jobid}`).expect(200).expect("content-type", "application/pdf");
    assert.equal(head.headers["content-disposition"], `attachment; filename="iris-report-${jobid}.pdf"`);
    assert.equal(Number(head.headers["content-length"]), pdf.body.length);
  });

  it("accepts the legacy field names (multipart too) and ignores Submit", async () => {
    await http
      .post("/predict")
      .field("Sepal length", "5.1")
      .field("Sepal width", "3.5")
      .field("Petal length", "1.4")
      .field("Petal width", "0.2")
      .field("Submit", "Submit")
      .expect(303);
  });

  it("invalid form input: 400, the form again with each field's error beside it, values kept", async () => {
    const res = await http
      .post("/predict")
      .type("form")
      .send({ sepal_length: "11", sepal_width: "abc", petal_length: "1.4" })
      .expect(400)
      .expect("content-type", /html/);
    assert.match(res.text, /id="sepal_length-error">Sepal length must be at most 10\./);
    assert.match(res.text, /id="sepal_width-error">Sepal width must be a number\./);
    assert.match(res.text, /id="petal_width-error">Petal width is required\./);
    assert.match(res.text, /value="11"/);
    assert.match(res.text, /value="abc"/);
    assert.match(res.text, /value="1.4"/);
    assert.equal((await t.queue.stats()).messages, 0);
  });

  it("escapes what the user typed", async () => {
    const res = await http.post("/predict").type("form").send({ ...virginica, sepal_length: '"><script>x</script>' });
    assert.equal(res.status, 400);
    assert.doesNotMatch(res.text, /<script>x<\/script>/);
  });

  it("validates ids: malformed 400, unknown 404, on every job endpoint", async () => {
    for (const path of ["/progress?jobid=", "/result?jobid=", "/jobs/"]) {
      await http.get(`${path}not-a-uuid`).expect(400);
      await http.get(`${path}${randomUUID()}`).expect(404);
    }
    const res = await http.get("/progress").expect(400);
    assert.equal(res.body.error, "The job id is missing.");
  });

  it("/result of an unfinished job is 409 with its state", async () => {
    const jobid = randomUUID();
    const at = new Date().toISOString();
    await t.store.create({
      jobid,
      state: "PENDING",
      progress: 0,
      stage: "queued",
      input: { sepal_length: 1, sepal_width: 1, petal_length: 1, petal_width: 1 },
      attempts: 0,
      created_at: at,
      updated_at: at,
    });
    const res = await http.get(`/result?jobid=${jobid}`).expect(409);
    assert.deepEqual(res.body, { error: "The report is not ready yet.", state: "PENDING" });
    await t.store.update(jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "Broken." });
    const failed = await http.get(`/result?jobid=${jobid}`).expect(409);
    assert.deepEqual(failed.body, { error: "Broken.", state: "FAILURE" });
  });

  it("unknown paths are 404 pages for browsers and JSON for programs", async () => {
    const html = await http.get("/nope").set("Accept", "text/html").expect(404);
    assert.match(html.text, /Not found/);
    const json = await http.get("/nope").set("Accept", "application/json").expect(404);
    assert.deepEqual(json.body, { error: "Not found." });
  });
});
