// Operations on the real services: a web process reaching RabbitMQ and Redis through proxies the
// test can cut, and two worker processes. Readiness follows the dependencies; the workers' job
// counters show on the web's /metrics (aggregated through Redis).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { sampleValue } from "../helpers/prom-text.js";
import { deleteQueues, realServices, testRedis, uniqueName } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

const setosa = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

describe("readiness and metrics: web through cuttable proxies + 2 workers", () => {
  const ns = uniqueName("ops");
  let base = "";
  let rabbitProxy: TcpProxy;
  let redisProxy: TcpProxy;
  const procs: ServiceProcess[] = [];

  before(async () => {
    const { redisUrl, rabbitUrl } = realServices();
    const rabbit = new URL(rabbitUrl);
    const redis = new URL(redisUrl);
    rabbitProxy = await startTcpProxy({ host: rabbit.hostname, port: Number(rabbit.port) });
    redisProxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port) });
    const viaRabbitProxy = new URL(rabbitUrl);
    viaRabbitProxy.host = `127.0.0.1:${rabbitProxy.port}`;
    const port = await freePort();
    const env = {
      RABBITMQ_URL: rabbitUrl,
      REDIS_URL: redisUrl,
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-ops-")),
      PORT: String(port),
      HOST: "127.0.0.1",
    };
    procs.push(
      await startProcess(
        "app/main.ts",
        { ...env, RABBITMQ_URL: viaRabbitProxy.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` },
        { readyMsg: "web ready" },
      ),
    );
    for (let i = 0; i < 2; i++) procs.push(await startProcess("tasks/main.ts", env, { readyMsg: "worker ready" }));
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    const codes = await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await rabbitProxy.close();
    await redisProxy.close();
    await deleteQueues(`${ns}.jobs`);
    const redis = testRedis();
    const keys = await redis.keys(`${ns}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    assert.deepEqual(codes, [0, 0, 0], "every process exits 0 on SIGTERM");
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  it("is alive and ready when both dependencies answer", async () => {
    assert.equal((await get("/healthz")).status, 200);
    const ready = await get("/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json().checks, { rabbitmq: "ok", redis: "ok" });
  });

  it("the workers' job counters, duration and queue wait appear on the web's /metrics", async () => {
    const before = (await get("/metrics")).text;
    assert.equal(sampleValue(before, "iris_jobs_succeeded_total"), 0);
    assert.equal(sampleValue(before, "iris_queue_consumers"), 2, "one consumer per worker process");
    assert.ok(sampleValue(before, "process_resident_memory_bytes")! > 0, "process metrics are on");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${base}/predict`, {
        method: "POST",
        body: new URLSearchParams(setosa),
        redirect: "manual",
      });
      assert.equal(res.status, 303);
      ids.push(res.headers.get("location")!.split("/").pop()!);
    }
    // The outcome counters are written with the final state; the histograms on the workers'
    // batched path (FLUSH_INTERVAL_MS later), so both are waited for.
    const text = await waitFor(
      async () => {
        const t = (await get("/metrics")).text;
        const counts = [
          "iris_jobs_succeeded_total",
          "iris_job_duration_seconds_count",
          "iris_job_queue_wait_seconds_count",
        ];
        return counts.every((name) => sampleValue(t, name) === 6) ? t : null;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: "6 successes, durations and queue waits on /metrics" },
    );
    assert.equal(sampleValue(text, "iris_jobs_submitted_total"), 6);
    assert.equal(sampleValue(text, "iris_jobs_failed_total"), 0);
    assert.equal(sampleValue(text, "iris_job_duration_seconds_count"), 6);
    assert.equal(sampleValue(text, "iris_job_queue_wait_seconds_count"), 6);
    assert.equal(sampleValue(text, "iris_queue_depth"), 0);
    const workersThatWorked = procs.slice(1).filter((w) => w.logs().some((l) => l.msg === "job succeeded"));
    assert.ok(workersThatWorked.length >= 1, "the counts come from worker processes");
  });

  it("Redis away: /readyz 503 naming Redis within its deadline, /healthz still 200; back: ready again", async () => {
    await redisProxy.cut();
    try {
      const started = Date.now();
      const ready = await get("/readyz");
      assert.ok(Date.now() - started < 3000, "the probe never hangs");
      assert.equal(ready.status, 503);
      assert.equal(ready.json().error, "Not ready: Redis is not reachable.");
      assert.deepEqual(ready.json().checks, { rabbitmq: "ok", redis: "unreachable" });
      assert.equal((await get("/healthz")).status, 200);
    } finally {
      await redisProxy.restore();
    }
    await waitFor(async () => (await get("/readyz")).status === 200, {
      timeoutMs: 15_000,
      what: "ready after Redis returns",
    });
  });

  it("RabbitMQ away: /readyz 503 naming RabbitMQ, /metrics still answers; back: ready again", async () => {
    await rabbitProxy.cut();
    try {
      const ready = await waitFor(
        async () => {
          const r = await get("/readyz");
          return r.status === 503 ? r : null;
        },
        { timeoutMs: 5000, what: "503 after the broker connection drops" },
      );
      assert.equal(ready.json().error, "Not ready: RabbitMQ is not reachable.");
      assert.equal((await get("/healthz")).status, 200);
      const metrics = await get("/metrics");
      assert.equal(metrics.status, 200);
      assert.equal(sampleValue(metrics.text, "iris_queue_depth"), undefined, "no made-up queue depth");
      assert.equal(sampleValue(metrics.text, "iris_jobs_succeeded_total"), 6, "job counts still come from Redis");
    } finally {
      await rabbitProxy.restore();
    }
    await waitFor(async () => (await get("/readyz")).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: "ready after the broker returns",
    });
  });
});
