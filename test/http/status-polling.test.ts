// GET /progress and GET /predict/{id} as programs poll them: ETag and If-None-Match → 304, status
// from the change feed (no store read for a job this process heard of), and Prefer: wait.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadAppConfig } from "../../app/config.js";
import { createApp } from "../../app/create-app.js";
import { webDeps } from "../../app/web-deps.js";
import { createJobCache, type JobCache } from "../../app/job-cache.js";
import { progressBody } from "../../app/job-view.js";
import { memoryServices } from "../../tasks/services.js";
import type { JobRecord, JobStore } from "../../tasks/store/types.js";
import { testModel } from "../helpers/memory-app.js";
import { openApiChecker } from "../helpers/openapi.js";
import { silentLogger } from "../helpers/silent-logger.js";
import { withSteppedClock } from "../helpers/stepped-clock.js";
import { waitFor } from "../helpers/wait-for.js";

const newJob = (): JobRecord => {
  const at = new Date().toISOString();
  return {
    jobid: randomUUID(),
    state: "PENDING",
    progress: 0,
    stage: "queued",
    input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    attempts: 0,
    created_at: at,
    updated_at: at,
  };
};

/** The app on the memory store, with the store's reads counted, listening on a loopback port. */
async function pollingApp(opts: { maxWaiters?: number } = {}) {
  const config = loadAppConfig({ RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-poll-")) });
  const services = memoryServices(config);
  const counted = { reads: 0 };
  const store: JobStore = {
    ...services.store,
    get: (jobid) => {
      counted.reads++;
      return services.store.get(jobid);
    },
  };
  const jobs: JobCache = createJobCache({ store, ttlSeconds: config.RESULT_TTL_SECONDS, maxWaiters: opts.maxWaiters });
  await jobs.ready;
  const app = createApp({ ...webDeps({ ...services, store, config, model: testModel(), logger: silentLogger }), jobs });
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    store,
    jobs,
    counted,
    get: (path: string, headers: Record<string, string> = {}, signal?: AbortSignal) => fetch(`${base}${path}`, { headers, signal }),
    async close() {
      await jobs.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await services.close();
    },
  };
}

type PollingApp = Awaited<ReturnType<typeof pollingApp>>;

const STATUS_PATHS = (id: string) => [`/progress?jobid=${id}`, `/predict/${id}`];

describe("status requests: ETag, If-None-Match and the feed", () => {
  let t: PollingApp;
  before(async () => (t = await pollingApp()));
  after(() => t.close());

  it("carry a strong ETag and Cache-Control: no-cache, with the same bodies as before", async () => {
    const job = newJob();
    await t.store.create(job);
    const progress = await t.get(`/progress?jobid=${job.jobid}`);
    assert.equal(progress.status, 200);
    assert.deepEqual(await progress.json(), progressBody(job));
    const predict = await t.get(`/predict/${job.jobid}`);
    assert.equal(predict.status, 202);
    assert.deepEqual(await predict.json(), {
      prediction_id: job.jobid,
      state: "PENDING",
      progress: 0,
      error: "Prediction is still being processed.",
    });
    for (const res of [progress, predict]) {
      assert.match(res.headers.get("etag") ?? "", /^"[A-Za-z0-9_-]+"$/, "a strong ETag");
      assert.match(res.headers.get("cache-control") ?? "", /\bno-cache\b/);
      assert.equal(res.headers.get("preference-applied"), null);
    }
    assert.notEqual(progress.headers.get("etag"), predict.headers.get("etag"), "two bodies, two tags");
  });

  it("answer 304 with no body to If-None-Match of the current ETag (also weak, in a list, or *)", async () => {
    const job = newJob();
    await t.store.create(job);
    for (const path of STATUS_PATHS(job.jobid)) {
      const tag = (await t.get(path)).headers.get("etag")!;
      for (const inm of [tag, `W/${tag}`, `"other", ${tag}`, "*"]) {
        const res = await t.get(path, { "If-None-Match": inm });
        assert.equal(res.status, 304, `${path} ${inm}`);
        assert.equal(res.headers.get("etag"), tag);
        assert.match(res.headers.get("cache-control") ?? "", /\bno-cache\b/);
        assert.equal(await res.text(), "");
      }
      assert.equal((await t.get(path, { "If-None-Match": '"other"' })).status, path.startsWith("/progress") ? 200 : 202);
    }
  });

  it("change the ETag when what the body shows changes, and only then", async () => {
    const job = newJob();
    await t.store.create(job);
    await t.store.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 });
    for (const path of STATUS_PATHS(job.jobid)) {
      const before = (await t.get(path)).headers.get("etag");
      await t.store.update(job.jobid, { attempts: 2 }); // not in either body
      assert.equal((await t.get(path)).headers.get("etag"), before, `${path}: an invisible change keeps the tag`);
    }
    const tags = async () => Promise.all(STATUS_PATHS(job.jobid).map(async (p) => (await t.get(p)).headers.get("etag")));
    const first = await tags();
    await t.store.update(job.jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 });
    const second = await tags();
    await t.store.update(job.jobid, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa", probabilities: { setosa: 1 } });
    const third = await tags();
    for (const i of [0, 1]) assert.equal(new Set([first[i], second[i], third[i]]).size, 3, STATUS_PATHS(job.jobid)[i]);
    const done = await t.get(`/predict/${job.jobid}`, { "If-None-Match": third[1]! });
    assert.equal(done.status, 304);
  });

  it("cost no store read for a job this process heard of on the feed, whoever created it", async () => {
    const job = newJob();
    await t.store.create(job);
    await t.store.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 }); // heard
    const before = t.counted.reads;
    for (let i = 0; i < 20; i++) {
      for (const path of STATUS_PATHS(job.jobid)) {
        assert.ok([200, 202].includes((await t.get(path)).status));
        const tag = (await t.get(path)).headers.get("etag")!;
        assert.equal((await t.get(path, { "If-None-Match": tag })).status, 304);
      }
    }
    assert.equal(t.counted.reads, before, "120 status requests, no read");
    const unseen = newJob();
    await t.store.create(unseen); // a creation is not on the feed: read once, then from memory
    for (let i = 0; i < 10; i++) await t.get(`/progress?jobid=${unseen.jobid}`);
    assert.equal(t.counted.reads, before + 1);
  });

  it("are documented in /openapi.json: If-None-Match, Prefer, ETag, Preference-Applied, 304 and 503", async () => {
    const doc = (await (await t.get("/openapi.json")).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string }>; responses: Record<string, { headers?: object }> } }>;
    };
    const checker = await openApiChecker(doc); // a valid OpenAPI 3.1 document
    for (const path of ["/progress", "/predict/{id}"]) {
      const get = doc.paths[path]!.get;
      const names = get.parameters.map((p) => p.name);
      for (const name of ["If-None-Match", "Prefer"]) assert.ok(names.includes(name), `${path} documents ${name}`);
      for (const status of ["200", "304", "503"]) assert.ok(get.responses[status], `${path} documents ${status}`);
      for (const header of ["ETag", "Cache-Control", "Preference-Applied"]) {
        assert.ok(header in (get.responses["304"]!.headers ?? {}), `${path} 304 documents ${header}`);
        assert.ok(header in (get.responses["200"]!.headers ?? {}), `${path} 200 documents ${header}`);
      }
    }
    const job = newJob();
    await t.store.create(job);
    for (const path of STATUS_PATHS(job.jobid)) {
      const res = await t.get(path, { Prefer: "wait=0" });
      checker.check({ method: "GET", path, status: res.status, contentType: res.headers.get("content-type") ?? undefined, body: await res.json() });
    }
  });

  it("keep their refusals: 400 and 404 as before", async () => {
    assert.equal((await t.get("/progress?jobid=nope")).status, 400);
    assert.equal((await t.get(`/progress?jobid=${randomUUID()}`)).status, 404);
    assert.equal((await t.get(`/predict/${randomUUID()}`)).status, 404);
    assert.equal((await t.get(`/predict/nope`)).status, 400);
  });
});

describe("status requests: Prefer: wait (long polling)", () => {
  let t: PollingApp;
  before(async () => (t = await pollingApp({ maxWaiters: 300 })));
  after(() => t.close());

  it("answer on the job's next change, with Preference-Applied", async () => {
    for (const path of STATUS_PATHS("")) {
      const job = newJob();
      await t.store.create(job);
      const started = Date.now();
      const waiting = t.get(`${path}${job.jobid}`, { Prefer: "wait=30" });
      await waitFor(() => t.jobs.stats().waiters === 1, { what: "the request to wait" });
      await t.store.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
      const res = await waiting;
      assert.ok(Date.now() - started < 10_000, "answered on the change, not at the deadline");
      assert.equal(res.headers.get("preference-applied"), "wait=30");
      const body = (await res.json()) as { progress: number };
      assert.equal(body.progress, 0.1);
      assert.equal(t.jobs.stats().waiters, 0);
    }
  });

  it("keep waiting through a change the body does not show, and answer 304 at the deadline when nothing changed", async () => {
    const job = newJob();
    await t.store.create(job);
    const path = `/progress?jobid=${job.jobid}`;
    const tag = (await t.get(path)).headers.get("etag")!;
    const started = Date.now();
    const waiting = t.get(path, { Prefer: "wait=1", "If-None-Match": tag });
    await waitFor(() => t.jobs.stats().waiters === 1, { what: "the request to wait" });
    await t.store.update(job.jobid, { attempts: 3 });
    const res = await waiting;
    const ms = Date.now() - started;
    assert.equal(res.status, 304);
    assert.ok(ms >= 950 && ms < 5000, `answered after ${ms} ms`);
    assert.equal(res.headers.get("etag"), tag);
    assert.equal(res.headers.get("preference-applied"), "wait=1");
  });

  it("answer at the deadline though the wall clock steps back while they wait (NTP, a resumed VM)", { timeout: 10_000 }, async () => {
    const job = newJob();
    await t.store.create(job);
    const path = `/progress?jobid=${job.jobid}`;
    const tag = (await t.get(path)).headers.get("etag")!;
    const started = performance.now();
    const res = await withSteppedClock(async (step) => {
      const waiting = t.get(path, { Prefer: "wait=1", "If-None-Match": tag });
      await waitFor(() => t.jobs.stats().waiters === 1, { what: "the request to wait" });
      step(-10 * 60_000); // ten minutes back: a deadline on the wall clock would now be 10 min away
      await t.store.update(job.jobid, { attempts: 3 }); // a change the body does not show: wait on
      return waiting;
    });
    const ms = performance.now() - started;
    assert.equal(res.status, 304);
    assert.ok(ms >= 950 && ms < 5000, `answered after ${ms} ms`);
  });

  it("answer at once when If-None-Match is not the current ETag, or the job is finished; wait is capped at 60", async () => {
    const job = newJob();
    await t.store.create(job);
    const stale = await t.get(`/progress?jobid=${job.jobid}`, { Prefer: "wait=30", "If-None-Match": '"old"' });
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get("preference-applied"), "wait=30");
    await t.store.update(job.jobid, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa", probabilities: { setosa: 1 } });
    for (const path of STATUS_PATHS(job.jobid)) {
      const tag = (await t.get(path)).headers.get("etag")!;
      const res = await t.get(path, { Prefer: "wait=600", "If-None-Match": tag });
      assert.equal(res.status, 304, path);
      assert.equal(res.headers.get("preference-applied"), "wait=60");
    }
    assert.equal(t.jobs.stats().waiters, 0);
  });

  it("ignore a wait that is not whole seconds, answering at once without Preference-Applied", async () => {
    const job = newJob();
    await t.store.create(job);
    for (const prefer of ["wait=abc", "wait=-1", "wait=1.5", "wait", "wait=0", "respond-async"]) {
      const res = await t.get(`/progress?jobid=${job.jobid}`, { Prefer: prefer });
      assert.equal(res.status, 200, prefer);
      assert.equal(res.headers.get("preference-applied"), null, prefer);
    }
  });

  it("clean up the waits of clients that went away", async () => {
    const job = newJob();
    await t.store.create(job);
    const aborts = Array.from({ length: 200 }, () => new AbortController());
    const requests = aborts.map((a) => t.get(`/progress?jobid=${job.jobid}`, { Prefer: "wait=60" }, a.signal).catch(() => "aborted"));
    await waitFor(() => t.jobs.stats().waiters === 200, { what: "200 waits" });
    for (const a of aborts) a.abort();
    assert.deepEqual(new Set(await Promise.all(requests)), new Set(["aborted"]));
    await waitFor(() => t.jobs.stats().waiters === 0, { what: "every aborted wait to be released" });
    // and the job's next change still reaches a new waiter
    const waiting = t.get(`/progress?jobid=${job.jobid}`, { Prefer: "wait=30" });
    await waitFor(() => t.jobs.stats().waiters === 1, { what: "a new wait" });
    await t.store.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
    assert.equal((await waiting).status, 200);
  });
});

describe("status requests: the cap on waiting requests", () => {
  it("answers at once, without Preference-Applied, beyond maxWaiters", async () => {
    const t = await pollingApp({ maxWaiters: 2 });
    try {
      const job = newJob();
      await t.store.create(job);
      const path = `/progress?jobid=${job.jobid}`;
      const waits = [t.get(path, { Prefer: "wait=30" }), t.get(path, { Prefer: "wait=30" })];
      await waitFor(() => t.jobs.stats().waiters === 2, { what: "two waits" });
      const third = await t.get(path, { Prefer: "wait=30" });
      assert.equal(third.status, 200);
      assert.equal(third.headers.get("preference-applied"), null);
      await t.store.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
      for (const res of await Promise.all(waits)) assert.equal(res.headers.get("preference-applied"), "wait=30");
    } finally {
      await t.close();
    }
  });

  it("on shutdown, waiting requests are answered at once", async () => {
    const t = await pollingApp();
    const job = newJob();
    await t.store.create(job);
    const waiting = t.get(`/progress?jobid=${job.jobid}`, { Prefer: "wait=60" });
    await waitFor(() => t.jobs.stats().waiters === 1, { what: "a wait" });
    const started = Date.now();
    const closing = t.jobs.close();
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started < 5000);
    await closing;
    await t.close();
  });
});
