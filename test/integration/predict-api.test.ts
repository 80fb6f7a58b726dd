// The JSON API on the real RabbitMQ and Redis: every endpoint and status, and every JSON answer
// checked against the service's own /openapi.json.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { reportFileName } from "../../tasks/report-store/types.js";
import { batchPageCount } from "../../tasks/report/render-batch.js";
import { testModel } from "../helpers/memory-app.js";
import { openApiChecker, type OpenApiChecker } from "../helpers/openapi.js";
import { realApp, type RealApp } from "../helpers/real-app.js";
import { waitFor } from "../helpers/wait-for.js";

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const VERSICOLOR = { sepal_length: 6.0, sepal_width: 2.9, petal_length: 4.5, petal_width: 1.5 };
const VIRGINICA = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 };
const MAX_ROWS = 20;

// Bodies are validated against /openapi.json by `call`, so the tests may index them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; headers: Headers; body: any; text: string };

describe("JSON API on RabbitMQ + Redis", () => {
  let t: RealApp;
  let doc: OpenApiChecker;

  /** One request; a JSON answer is parsed and validated against /openapi.json. */
  const call = async (method: string, path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(t.base + path, { method, redirect: "manual", ...init });
    const text = await res.text();
    const contentType = res.headers.get("content-type") ?? undefined;
    const body = contentType?.includes("json") ? JSON.parse(text) : undefined;
    doc?.check({ method, path, status: res.status, contentType, body });
    return { status: res.status, headers: res.headers, body, text };
  };
  const postJson = (body: unknown, headers: Record<string, string> = {}) =>
    call("POST", "/predict", {
      headers: { "Content-Type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const upload = (csv: string | Buffer, headers: Record<string, string> = {}, field = "file") => {
    const form = new FormData();
    form.append(field, new Blob([typeof csv === "string" ? csv : new Uint8Array(csv)], { type: "text/csv" }), "flowers.csv");
    return call("POST", "/predict", { body: form, headers });
  };
  const queued = async () => (await t.queue.stats()).messages;
  const idOf = (a: Answer) => a.body.prediction_id as string;

  before(async () => {
    t = await realApp({ MAX_BATCH_ROWS: String(MAX_ROWS) });
    const res = await fetch(`${t.base}/openapi.json`);
    assert.equal(res.status, 200);
    doc = await openApiChecker(await res.json());
  });
  after(async () => {
    await t.close();
  });

  describe("with no worker running", () => {
    it("serves an OpenAPI 3.1 document generated from the validating schemas, and Swagger UI locally", async () => {
      const { body } = await call("GET", "/openapi.json");
      assert.equal(body.openapi, "3.1.0");
      const m = body.components.schemas.Measurements;
      assert.equal(m.additionalProperties, false);
      assert.deepEqual(m.required, ["sepal_length", "sepal_width", "petal_length", "petal_width"]);
      assert.equal(m.properties.sepal_length.exclusiveMinimum, 0);
      assert.equal(m.properties.sepal_length.maximum, 10);
      assert.equal(body.components.schemas.BatchPredictRequest.properties.inputs.maxItems, MAX_ROWS);

      const page = await call("GET", "/docs");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type")!, /html/);
      assert.doesNotMatch(page.text, /https?:\/\//, "no asset from another host");
      assert.doesNotMatch(page.text, /<script>(?!<\/script>)/, "no inline script");
      for (const asset of page.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
        const res = await fetch(t.base + asset[1]);
        assert.equal(res.status, 200, asset[1]);
        await res.arrayBuffer();
      }
      const init = await (await fetch(`${t.base}/swagger-init.js`)).text();
      assert.match(init, /url: "\/openapi\.json"/);
    });

    it("predicts synchronously from JSON and from a query string, queueing nothing", async () => {
      const model = testModel();
      for (const [input, species] of [
        [SETOSA, "setosa"],
        [VERSICOLOR, "versicolor"],
        [VIRGINICA, "virginica"],
      ] as const) {
        const a = await postJson({ input });
        assert.equal(a.status, 200);
        assert.deepEqual(a.body, { input, result: species, probabilities: model.predict(input).probabilities, model_version: model.version });
        const q = await call("GET", `/predict?${new URLSearchParams(Object.entries(input).map(([k, v]) => [k, String(v)]))}`);
        assert.equal(q.status, 200);
        assert.deepEqual(q.body, a.body);
      }
      assert.equal(await queued(), 0);
      assert.deepEqual(await t.keys("job"), []);
    });

    it("refuses bad requests with 4xx JSON naming the field, and queues nothing", async () => {
      const expectError = (a: Answer, status: number, field?: string | RegExp) => {
        assert.equal(a.status, status, a.text);
        assert.equal(typeof a.body.error, "string");
        assert.ok(a.body.error.length > 10, "a sentence");
        if (field !== undefined) {
          const fields = (a.body.details ?? []).map((d: { field: string }) => d.field);
          assert.ok(fields.some((f: string) => (typeof field === "string" ? f === field : field.test(f))), `${fields} names ${field}`);
        }
        assert.doesNotMatch(a.text, /at .*\.(ts|js):\d+/, "no stack trace");
      };
      expectError(await postJson({ input: { ...SETOSA, colour: "blue" } }), 400, "input.colour");
      expectError(await postJson({ input: SETOSA, extra: 1 }), 400, "extra");
      expectError(await postJson({ input: { ...SETOSA, petal_width: undefined } }), 400, "input.petal_width");
      expectError(await postJson({ input: { ...SETOSA, sepal_length: 0 } }), 400, "input.sepal_length");
      expectError(await postJson({ input: { ...SETOSA, sepal_length: 10.01 } }), 400, "input.sepal_length");
      expectError(await postJson({ input: { ...SETOSA, sepal_length: "5.1" } }), 400, "input.sepal_length");
      expectError(await postJson('{"input": {"sepal_length": 1e999, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}'), 400, "input.sepal_length");
      expectError(await postJson('{"input": {"sepal_length": NaN}}'), 400, "body");
      expectError(await postJson('{"input": '), 400, "body");
      expectError(await postJson('{"__proto__": {"admin": true}, "input": {}}'), 400, "body");
      expectError(await postJson('{"constructor": {"prototype": {}}}'), 400, "constructor");
      expectError(await postJson([SETOSA]), 400, "body");
      expectError(await postJson({}), 400, "input");
      expectError(await postJson({ input: SETOSA, inputs: [SETOSA] }), 400, "inputs");
      expectError(await call("POST", "/predict", { headers: { "Content-Type": "application/json" } }), 400, "input");
      expectError(await postJson({ inputs: [] }), 400, "inputs");
      expectError(await postJson({ inputs: [SETOSA, { ...SETOSA, petal_width: -1 }] }), 400, "inputs[1].petal_width");
      const rowMsg = await postJson({ inputs: [SETOSA, SETOSA, { ...SETOSA, petal_width: 11 }] });
      assert.match(rowMsg.body.error, /Row 3/);
      expectError(await postJson({ inputs: Array(MAX_ROWS + 1).fill(SETOSA) }), 413, "inputs");
      expectError(await postJson(JSON.stringify({ input: SETOSA, pad: "x".repeat(5 * 1024 * 1024) })), 413, "body");
      expectError(await postJson({ input: SETOSA }, { "Async-Mode": "yes" }), 400, "Async-Mode");
      expectError(await postJson({ input: SETOSA }, { "Async-Mode": "true", "Idempotency-Key": "k".repeat(300) }), 400, "Idempotency-Key");
      expectError(await call("POST", "/predict", { headers: { "Content-Type": "text/plain" }, body: "5.1,3.5,1.4,0.2" }), 415, "Content-Type");
      expectError(await call("POST", "/predict", { headers: { "Content-Type": "application/xml" }, body: "<input/>" }), 415, "Content-Type");
      expectError(await call("GET", "/predict?sepal_length=NaN&sepal_width=Infinity&petal_length=1&petal_width=1"), 400, "sepal_length");
      expectError(await call("GET", "/predict?sepal_length=1&sepal_length=2&sepal_width=1&petal_length=1&petal_width=1"), 400, "sepal_length");
      expectError(await call("GET", "/predict?sepal_length=1&sepal_width=1&petal_length=1&petal_width=1&colour=red"), 400, "colour");
      expectError(await call("GET", "/predict"), 400, "sepal_length");

      const put = await call("PUT", "/predict", { headers: { "Content-Type": "application/json" }, body: "{}" });
      expectError(put, 405, "method");
      assert.match(put.headers.get("allow")!, /POST/);
      expectError(await call("PATCH", `/predict/${crypto.randomUUID()}`), 405, "method");
      expectError(await call("POST", "/api/model"), 405, "method");
      expectError(await call("PROPFIND", "/predict"), 405, "method");

      // CSV uploads: bad rows by row number (the header is row 1), bad headers, wrong fields.
      const head = "sepal_length,sepal_width,petal_length,petal_width";
      const bad = await upload(`${head}\n5.1,3.5,1.4,0.2\n5.1,3.5,x,0.2\n5.1,3.5\n6,3,11,2\n`);
      expectError(bad, 400, "row 3.petal_length");
      const fields = bad.body.details.map((d: { field: string }) => d.field);
      assert.deepEqual(fields, ["row 3.petal_length", "row 4", "row 5.petal_length"]);
      assert.match(bad.body.details[2].message, /^Row 5: Petal length must be at most 10\.$/);
      expectError(await upload("sepal_length,sepal_width,petal_length,species\n1,1,1,setosa\n"), 400, "header");
      expectError(await upload(`${head}\n`), 400, "file");
      expectError(await upload(""), 400, "file");
      expectError(await upload(`${head}\n"1,1,1,1\n`), 400, /row|file/);
      expectError(await upload(`${head}\n${"1,1,1,1\n".repeat(MAX_ROWS + 1)}`), 413, "file");
      expectError(await upload(`${head}\n1,1,1,1\n`, {}, "upload"), 400, "upload");
      expectError(await upload(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80, 0x0a, 0x22])), 400);

      assert.equal(await queued(), 0, "nothing queued");
      assert.deepEqual(await t.keys("job"), [], "no job created");
    });

    it("queues with Async-Mode: true (202 + Location) and answers 202 while the job waits", async () => {
      const a = await postJson({ input: VIRGINICA }, { "Async-Mode": "true" });
      assert.equal(a.status, 202);
      assert.equal(a.body.message, "Request received. Processing asynchronously.");
      const id = idOf(a);
      assert.equal(a.headers.get("location"), `/predict/${id}`);
      assert.equal(a.body.progress_url, `/progress?jobid=${id}`);
      assert.equal(a.body.result_url, `/result?jobid=${id}`);
      const pending = await call("GET", `/predict/${id}`);
      assert.equal(pending.status, 202);
      assert.deepEqual(pending.body, { prediction_id: id, state: "PENDING", progress: 0, error: "Prediction is still being processed." });
      assert.equal((await call("GET", `/progress?jobid=${id}`)).body.state, "PENDING");
      assert.equal((await call("GET", `/result?jobid=${id}`)).status, 409);
    });

    it("retries with the same Idempotency-Key get the same id and queue nothing new", async () => {
      const before = await queued();
      const key = `order-${crypto.randomUUID()}`;
      const first = await postJson({ input: SETOSA }, { "Async-Mode": "true", "Idempotency-Key": key });
      const again = await Promise.all(
        Array.from({ length: 5 }, () => postJson({ input: SETOSA }, { "Async-Mode": "true", "Idempotency-Key": key })),
      );
      for (const a of again) {
        assert.equal(a.status, 202);
        assert.equal(idOf(a), idOf(first));
        assert.equal(a.headers.get("idempotent-replayed"), "true");
      }
      assert.equal(await queued(), before + 1, "one message for six submissions");
      const conflict = await postJson({ input: VERSICOLOR }, { "Async-Mode": "true", "Idempotency-Key": key });
      assert.equal(conflict.status, 422);
      const other = await postJson({ input: SETOSA }, { "Async-Mode": "true", "Idempotency-Key": `${key}-2` });
      assert.notEqual(idOf(other), idOf(first));
      // A batch upload honours the key too.
      const csv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n";
      const up1 = await upload(csv, { "Idempotency-Key": `${key}-csv` });
      const up2 = await upload(csv, { "Idempotency-Key": `${key}-csv` });
      assert.equal(idOf(up1), idOf(up2));
      assert.equal(await queued(), before + 3);
    });

    it("cancels a queued job (REVOKED); the worker then skips it; cancelling again is 409", async () => {
      const a = await postJson({ input: SETOSA }, { "Async-Mode": "true" });
      const id = idOf(a);
      const del = await call("DELETE", `/predict/${id}`);
      assert.equal(del.status, 200);
      assert.deepEqual(del.body, { prediction_id: id, state: "REVOKED", error: "The prediction was cancelled." });
      const again = await call("DELETE", `/predict/${id}`);
      assert.equal(again.status, 409);
      assert.equal(again.body.state, "REVOKED");
      const progress = await call("GET", `/progress?jobid=${id}`);
      assert.equal(progress.body.state, "REVOKED");
      assert.equal(progress.body.progress, 1);

      await t.startWorker();
      await waitFor(async () => (await queued()) === 0, { timeoutMs: 20_000, what: "the queue to drain" });
      const after = await call("GET", `/predict/${id}`);
      assert.equal(after.status, 200);
      assert.equal(after.body.state, "REVOKED");
      assert.equal(existsSync(join(t.config.RESULTS_DIR, reportFileName(id))), false, "no report for a cancelled job");
    });
  });

  describe("with a worker", () => {
    const finished = (id: string) =>
      waitFor(
        async () => {
          const a = await call("GET", `/predict/${id}`);
          return a.status === 200 ? a : null;
        },
        { timeoutMs: 20_000, what: `prediction ${id}` },
      );

    it("follows an async prediction to 200 with the output and a report URL; finished jobs cannot be cancelled", async () => {
      await t.startWorker();
      const id = idOf(await postJson({ input: VIRGINICA }, { "Async-Mode": "true" }));
      const done = await finished(id);
      assert.deepEqual(done.body, {
        prediction_id: id,
        state: "SUCCESS",
        output: { input: VIRGINICA, result: "virginica", probabilities: testModel().predict(VIRGINICA).probabilities },
        report_url: `/result?jobid=${id}`,
      });
      const pdf = await fetch(t.base + done.body.report_url);
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers.get("content-type"), "application/pdf");
      await pdf.arrayBuffer();
      const del = await call("DELETE", `/predict/${id}`);
      assert.equal(del.status, 409);
      assert.equal(del.body.state, "SUCCESS");
    });

    it("runs a JSON batch as one job with one report covering every row", async () => {
      const inputs = [SETOSA, VERSICOLOR, VIRGINICA, VIRGINICA, { ...SETOSA, sepal_length: 4.9 }];
      const a = await postJson({ inputs }, { "Async-Mode": "false" });
      assert.equal(a.status, 202, "a batch is always asynchronous");
      const done = await finished(idOf(a));
      const out = done.body.output;
      assert.equal(out.count, 5);
      assert.deepEqual(out.summary, { setosa: 2, versicolor: 1, virginica: 2 });
      assert.deepEqual(
        out.results.map((r: { row: number; input: unknown; result: string }) => [r.row, r.input, r.result]),
        inputs.map((input, i) => [i + 1, input, testModel().predict(input).result]),
      );
      const pdf = Buffer.from(await (await fetch(t.base + done.body.report_url)).arrayBuffer());
      const file = join(mkdtempSync(join(tmpdir(), "iris-batch-")), "b.pdf");
      writeFileSync(file, pdf);
      execFileSync("qpdf", ["--check", file]);
      assert.match(execFileSync("pdfinfo", [file], { encoding: "utf8" }), new RegExp(`^Pages:\\s+${batchPageCount(5)}$`, "m"));
      const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8" });
      assert.match(text, /^\s*setosa\s+2\s+40\.0%/m);
      assert.match(text, /^\s*Total\s+5\s+100\.0%/m);
    });

    it("runs a CSV upload as a batch: 202 for programs, 303 to the progress page for browsers", async () => {
      const csv = "petal_width,petal_length,sepal_width,sepal_length\r\n0.2,1.4,3.5,5.1\r\n2.2,5.8,3.0,6.7\r\n\r\n";
      const api = await upload(csv);
      assert.equal(api.status, 202);
      const done = await finished(idOf(api));
      assert.deepEqual(done.body.output.summary, { setosa: 1, versicolor: 0, virginica: 1 });
      assert.deepEqual(done.body.output.results[1].input, VIRGINICA, "columns in any order");

      const browser = await upload(csv, { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" });
      assert.equal(browser.status, 303);
      const location = browser.headers.get("location")!;
      assert.match(location, /^\/jobs\/[0-9a-f-]{36}$/);
      const page = await call("GET", location);
      assert.equal(page.status, 200);
      assert.match(page.text, /A batch of 2 flowers/);
      // The form page offers the upload.
      const form = await call("GET", "/");
      assert.match(form.text, /enctype="multipart\/form-data"/);
      assert.match(form.text, /<input id="file" name="file" type="file"/);
    });

    it("tells malformed (400), unknown (404) and expired (410) prediction ids apart", async () => {
      const bad = await call("GET", "/predict/not-a-uuid");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.details[0].field, "id");
      assert.equal((await call("DELETE", "/predict/..%2F..%2Fetc%2Fpasswd")).status, 400);
      const unknown = await call("GET", `/predict/${crypto.randomUUID()}`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error, "Prediction ID not found.");
      assert.equal((await call("DELETE", `/predict/${crypto.randomUUID()}`)).status, 404);

      const short = await realApp({ RESULT_TTL_SECONDS: "1" });
      try {
        const a = await fetch(`${short.base}/predict`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Async-Mode": "true" },
          body: JSON.stringify({ input: SETOSA }),
        });
        const { prediction_id: id } = (await a.json()) as { prediction_id: string };
        const gone = await waitFor(
          async () => {
            const res = await fetch(`${short.base}/predict/${id}`);
            return res.status === 410 ? res : null;
          },
          { timeoutMs: 5000, what: "expiry" },
        );
        const body = await gone.json();
        doc.check({ method: "GET", path: `/predict/${id}`, status: 410, contentType: gone.headers.get("content-type")!, body });
      } finally {
        await short.close();
      }
    });

    it("answers 503 with Retry-After when the queue is over MAX_QUEUE_DEPTH, and queues nothing more", async () => {
      const full = await realApp({ MAX_QUEUE_DEPTH: "1" });
      try {
        const send = () =>
          fetch(`${full.base}/predict`, {
            method: "POST",
            headers: { "Content-Type": "application/json", "Async-Mode": "true", "Idempotency-Key": "same-key" },
            body: JSON.stringify({ input: SETOSA }),
          });
        assert.equal((await send()).status, 202);
        // A retry with the same key is still answered: the job exists, nothing new is queued.
        assert.equal((await send()).status, 202);
        const res = await fetch(`${full.base}/predict`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "Async-Mode": "true" },
          body: JSON.stringify({ input: VERSICOLOR }),
        });
        assert.equal(res.status, 503);
        assert.ok(Number(res.headers.get("retry-after")) > 0);
        const body = await res.json();
        doc.check({ method: "POST", path: "/predict", status: 503, contentType: res.headers.get("content-type")!, body });
        assert.equal((await full.queue.stats()).messages, 1);
      } finally {
        await full.close();
      }
    });

    it("serves the model card", async () => {
      const card = await call("GET", "/api/model");
      assert.equal(card.status, 200);
      const model = testModel();
      assert.equal(card.body.version, model.version);
      assert.deepEqual(card.body.classes, ["setosa", "versicolor", "virginica"]);
      assert.deepEqual(card.body.features, ["sepal_length", "sepal_width", "petal_length", "petal_width"]);
      assert.equal(card.body.training_samples, 150);
      assert.ok(card.body.cv_accuracy >= 0.93);
      assert.equal(card.body.cv_folds, 10);
      assert.equal(card.body.parameters.seed, 42);
      assert.ok(card.body.oob_accuracy > 0.9);
      assert.deepEqual(Object.keys(card.body.feature_importance), card.body.features);
      assert.ok(!Number.isNaN(Date.parse(card.body.trained_at)));
    });

    it("validated every JSON answer of this file against /openapi.json", () => {
      assert.ok(doc.checked > 80, `${doc.checked} answers checked`);
    });
  });
});
