import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { createApp } from "../../app/create-app.js";
import { webDeps } from "../../app/web-deps.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import { ReportStoreError } from "../../tasks/report-store/errors.js";
import type { JobStore } from "../../tasks/store/types.js";
import { memoryApp } from "../helpers/memory-app.js";
import { parsePromText, sampleValue } from "../helpers/prom-text.js";
import { waitFor } from "../helpers/wait-for.js";

const setosa = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

describe("GET /healthz and /readyz", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  before(async () => {
    t = await memoryApp();
  });
  after(() => t.close());

  it("/healthz answers 200 without asking any dependency", async () => {
    const dead = webDeps({ ...t, queue: failingQueue(), store: failingStore() });
    const res = await request(createApp(dead).callback()).get("/healthz").expect(200);
    assert.deepEqual(res.body, { status: "ok" });
    assert.equal(res.headers["cache-control"], "no-store");
  });

  it("/readyz answers 200 when the queue and the store answer", async () => {
    const res = await request(t.app.callback()).get("/readyz").expect(200);
    assert.deepEqual(res.body, { status: "ready", checks: { rabbitmq: "ok", redis: "ok" } });
  });

  it("/readyz answers 503 naming RabbitMQ when the queue does not answer", async () => {
    const app = createApp(webDeps({ ...t, queue: failingQueue() }));
    const res = await request(app.callback()).get("/readyz").expect(503);
    assert.equal(res.body.error, "Not ready: RabbitMQ is not reachable.");
    assert.deepEqual(res.body.checks, { rabbitmq: "unreachable", redis: "ok" });
    assert.equal(res.headers["retry-after"], "5");
  });

  it("/readyz answers 503 naming Redis when the store hangs, within its deadline", async () => {
    const hanging = Object.assign(Object.create(t.store) as JobStore, { ping: () => new Promise<void>(() => {}) });
    const app = createApp(webDeps({ ...t, store: hanging }));
    const started = Date.now();
    const res = await request(app.callback()).get("/readyz").expect(503);
    assert.ok(Date.now() - started < 3000, "answers within the probe deadline");
    assert.equal(res.body.error, "Not ready: Redis is not reachable.");
  });

  it("/readyz says the report store refused (credentials, policy) rather than that it is unreachable", async () => {
    // A store that answers 403 is there: sending an operator to look for a network fault misleads.
    const refusing = {
      name: "s3://reports/r/",
      ping: async () => {
        throw new ReportStoreError("the report store refused: Forbidden (403)", { answer: "Forbidden (403)" });
      },
    };
    const app = createApp({ ...webDeps({ ...t }), reports: { ...t.reports, ...refusing } });
    const res = await request(app.callback()).get("/readyz").expect(503);
    assert.deepEqual(res.body.checks, { rabbitmq: "ok", redis: "ok", report_store: "refused" });
    assert.equal(
      res.body.error,
      "Not ready: the report store (s3://reports/r/) refused the service's requests (Forbidden (403)); check its credentials and the bucket's policy.",
    );
  });

  it("/readyz names both when neither answers", async () => {
    const app = createApp(webDeps({ ...t, queue: failingQueue(), store: failingStore() }));
    const res = await request(app.callback()).get("/readyz").expect(503);
    assert.equal(res.body.error, "Not ready: RabbitMQ and Redis are not reachable.");
  });
});

describe("GET /metrics (memory adapters, web + worker in one process)", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp({}, { worker: true });
    http = request(t.app.callback());
  });
  after(() => t.close());

  const scrape = async () => {
    const res = await http
      .get("/metrics")
      .expect(200)
      .expect("content-type", /^text\/plain; version=0.0.4/);
    return res.text;
  };

  it("starts at zero and exposes every instrument", async () => {
    const text = await scrape();
    assert.equal(sampleValue(text, "iris_jobs_submitted_total"), 0);
    assert.equal(sampleValue(text, "iris_jobs_succeeded_total"), 0);
    assert.equal(sampleValue(text, "iris_jobs_failed_total"), 0);
    assert.equal(sampleValue(text, "iris_job_duration_seconds_count"), 0);
    assert.equal(sampleValue(text, "iris_job_queue_wait_seconds_count"), 0);
    assert.equal(sampleValue(text, "iris_queue_depth"), 0);
    assert.equal(sampleValue(text, "iris_queue_consumers"), 1);
    assert.match(text, /# TYPE iris_jobs_submitted_total counter/);
    assert.match(text, /# TYPE iris_job_duration_seconds histogram/);
    assert.match(text, /# TYPE iris_http_request_duration_seconds histogram/);
  });

  it("moves with jobs: submitted, succeeded, duration and queue wait, and labels routes by pattern", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await http.post("/predict").type("form").send(setosa).expect(303);
      ids.push(res.headers.location.split("/").pop()!);
    }
    await http.get(`/jobs/${ids[0]}`).expect(200);
    await waitFor(async () => {
      const states = await Promise.all(ids.map(async (id) => (await http.get(`/progress?jobid=${id}`)).body.state));
      return states.every((s) => s === "SUCCESS");
    });
    const text = await waitFor(async () => {
      const t = await scrape();
      return sampleValue(t, "iris_jobs_succeeded_total") === 3 ? t : null;
    });
    assert.equal(sampleValue(text, "iris_jobs_submitted_total"), 3);
    assert.equal(sampleValue(text, "iris_job_duration_seconds_count"), 3);
    assert.equal(sampleValue(text, "iris_job_queue_wait_seconds_count"), 3);
    assert.ok(sampleValue(text, "iris_job_duration_seconds_sum")! > 0);
    const inf = sampleValue(text, "iris_job_duration_seconds_bucket", { le: "+Inf" });
    assert.equal(inf, 3);
    const routes = new Set(
      parsePromText(text)
        .filter((s) => s.name === "iris_http_request_duration_seconds_count")
        .map((s) => s.labels.route),
    );
    for (const r of ["/predict", "/jobs/:id", "/progress"])
      assert.ok(routes.has(r), `route label ${r} in ${[...routes]}`);
    assert.ok(![...routes].some((r) => /[0-9a-f]{8}-/.test(r!)), "no raw job id in a route label");
    assert.equal(
      sampleValue(text, "iris_http_request_duration_seconds_count", {
        route: "/predict",
        method: "POST",
        status_code: "303",
      }),
      3,
    );
  });
});

describe("GET /metrics counts a failed job", () => {
  it("a job whose report cannot be written ends FAILURE and iris_jobs_failed_total moves", async () => {
    const notADir = join(mkdtempSync(join(tmpdir(), "iris-ops-")), "file");
    writeFileSync(notADir, "x");
    const t = await memoryApp({ RESULTS_DIR: notADir, JOB_MAX_ATTEMPTS: "1" }, { worker: true });
    try {
      const http = request(t.app.callback());
      const res = await http.post("/predict").type("form").send(setosa).expect(303);
      const jobid = res.headers.location.split("/").pop();
      await waitFor(async () => (await http.get(`/progress?jobid=${jobid}`)).body.state === "FAILURE");
      const text = await waitFor(async () => {
        const body = (await http.get("/metrics").expect(200)).text;
        return sampleValue(body, "iris_jobs_failed_total") === 1 ? body : null;
      });
      assert.equal(sampleValue(text, "iris_jobs_succeeded_total"), 0);
      assert.equal(sampleValue(text, "iris_jobs_submitted_total"), 1);
    } finally {
      await t.close();
    }
  });
});

/** An object whose every method rejects (close resolves): a dependency that does not answer. */
function failing<T>(what: string): T {
  const fail = async () => {
    throw new Error(`${what} down`);
  };
  return new Proxy({}, { get: (_, key) => (key === "close" ? async () => {} : fail) }) as T;
}
const failingQueue = () => failing<JobQueue>("broker");
const failingStore = () => failing<JobStore>("redis");
