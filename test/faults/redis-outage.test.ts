// A Redis outage with jobs in a worker's hands: the worker holds them without spending attempts
// and finishes every one once Redis is back (item 5 of issue 12).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as outageLasts } from "node:timers/promises";
import { Redis } from "ioredis";
import { startPrivateRedis, type PrivateRedis } from "../helpers/private-redis.js";
import { deadLettered } from "../helpers/services.js";
import { SETOSA_FORM, startStack, type Stack } from "../helpers/stack.js";

/**
 * How long Redis stays away. Not a synchronisation: it is the fault itself, long enough that
 * the code before this test burnt all 3 attempts of every job it held (it needed about a second).
 */
const OUTAGE_MS = 15_000;

/** A batch of `rows` flowers, posted as JSON with Async-Mode; returns the job id. */
async function submitBatch(stack: Stack, rows: number): Promise<string> {
  const inputs = Array.from({ length: rows }, (_, i) => ({
    sepal_length: 5 + (i % 20) / 10,
    sepal_width: 3,
    petal_length: 1 + (i % 50) / 10,
    petal_width: 0.2 + (i % 20) / 10,
  }));
  const res = await fetch(`${stack.base}/predict`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Async-Mode": "true" },
    body: JSON.stringify({ inputs }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { prediction_id: string }).prediction_id;
}

/**
 * Submits jobs while the worker is frozen (SIGSTOP: the broker hands it a prefetch's worth that
 * it cannot start yet), stops Redis, thaws the worker, keeps Redis away for OUTAGE_MS, brings it
 * back (empty: the worker rebuilds each job's state from its message), then checks every job.
 */
async function throughAnOutage(submitAll: (stack: Stack) => Promise<string[]>) {
  const redis: PrivateRedis = await startPrivateRedis();
  const stack = await startStack({
    workers: 1,
    kind: "outage",
    env: { REDIS_URL: redis.url, JOB_MAX_ATTEMPTS: "3", WORKER_CONCURRENCY: "4" },
  });
  const worker = stack.workers[0]!;
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on("error", () => {});
  try {
    worker.child.kill("SIGSTOP");
    const ids = await submitAll(stack);
    await redis.stop();
    worker.child.kill("SIGCONT");
    await outageLasts(OUTAGE_MS);
    await redis.start();

    const counts = await stack.waitAllFinal(ids, 45_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; ${await deadLettered(`${stack.ns}.jobs`)} dead-lettered`);
    });
    assert.deepEqual(counts, { SUCCESS: ids.length }, "every accepted job succeeds, none fails");
    const attempts = await Promise.all(ids.map((id) => admin.hget(`${stack.ns}:job:${id}`, "attempts")));
    assert.deepEqual(new Set(attempts), new Set(["1"]), "the outage spent no attempt: each job ran as its first");
    assert.equal(await deadLettered(`${stack.ns}.jobs`), 0, "nothing was dead-lettered");
    const logs = worker.logs();
    assert.ok(!logs.some((l) => l.msg === "job attempt failed; requeueing"), "no attempt was counted as the job's fault");
    assert.ok(logs.some((l) => l.msg === "store unavailable; holding jobs until it answers"), "the worker said it was holding");
    assert.ok(logs.some((l) => l.msg === "store answers again; resuming held jobs"), "and that it resumed");
    return { ids, logs };
  } finally {
    worker.child.kill("SIGCONT");
    admin.disconnect();
    await stack.stop();
    await redis.close();
  }
}

describe("fault: Redis stopped for several seconds while a worker holds jobs", () => {
  it("finishes every single job once Redis is back, spending no attempts", async () => {
    const { ids } = await throughAnOutage(async (stack) => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await stack.submitOk(SETOSA_FORM));
      return ids;
    });
    console.log(`# redis outage ${OUTAGE_MS} ms: ${ids.length} single jobs, ${ids.length} succeeded on their first attempt`);
  });

  it("finishes every batch job once Redis is back, spending no attempts", async () => {
    const { ids } = await throughAnOutage(async (stack) => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await submitBatch(stack, 40 + i * 10));
      return ids;
    });
    console.log(`# redis outage ${OUTAGE_MS} ms: ${ids.length} batch jobs, ${ids.length} succeeded on their first attempt`);
  });
});
