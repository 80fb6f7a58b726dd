// JobMetrics on both implementations, and the store decorator that feeds it from state changes.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { instrumentStore } from "../../tasks/metrics-hooks.js";
import {
  createMemoryJobMetrics,
  createRedisJobMetrics,
  DURATION_BUCKETS,
  type JobMetrics,
} from "../../tasks/metrics.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import { testRedis, uniqueName } from "../helpers/services.js";
import { silentLogger } from "../helpers/silent-logger.js";
import { waitFor } from "../helpers/wait-for.js";
import { newRecord } from "./job-store.contract.js";

/**
 * A deployment's metrics as a worker feeds them: `finish` is one job reaching SUCCESS or FAILURE,
 * however the implementation counts it (in memory: JobMetrics.finished; on Redis: the store's
 * final-state update, plus finished() for the duration).
 */
interface MetricsUnderTest {
  metrics: JobMetrics;
  finish(outcome: "succeeded" | "failed", durationSec?: number): Promise<void>;
}

function describeJobMetrics(
  name: string,
  make: (now: () => number) => MetricsUnderTest,
  cleanup?: () => Promise<void>,
) {
  describe(`JobMetrics contract: ${name}`, () => {
    if (cleanup) after(cleanup);

    it("counts, buckets and sums what is recorded", async () => {
      let clock = 1_700_000_000_000;
      const { metrics: m, finish } = make(() => clock);
      await m.submitted();
      await m.submitted();
      await m.submitted();
      await finish("succeeded", 0.02);
      await finish("succeeded", 3);
      await finish("failed");
      await m.queueWait(0.3);
      const s = await m.snapshot();
      assert.equal(s.submitted, 3);
      assert.equal(s.succeeded, 2);
      assert.equal(s.failed, 1);
      assert.equal(s.duration.count, 2, "a failure without a start time is counted but not timed");
      assert.ok(Math.abs(s.duration.sum - 3.02) < 1e-9);
      assert.deepEqual(s.duration.bounds, DURATION_BUCKETS);
      const at = (le: number) => s.duration.cumulative[DURATION_BUCKETS.indexOf(le)];
      assert.equal(at(0.01), 0);
      assert.equal(at(0.025), 1);
      assert.equal(at(2.5), 1);
      assert.equal(at(5), 2);
      assert.equal(s.queueWait.count, 1);
      assert.equal(s.finishedLastMinute, 3);
      clock += 30_000;
      assert.equal((await m.snapshot()).finishedLastMinute, 3, "still within the minute");
      clock += 35_000;
      assert.equal((await m.snapshot()).finishedLastMinute, 0, "older than a minute drops out");
      assert.equal((await m.snapshot()).succeeded, 2, "totals stay");
    });

    it("puts values past the last bound only into +Inf (the count)", async () => {
      const { metrics: m, finish } = make(Date.now);
      await finish("succeeded", 10_000);
      const s = await m.snapshot();
      assert.equal(s.duration.cumulative.at(-1), 0);
      assert.equal(s.duration.count, 1);
    });
  });
}

describeJobMetrics("memory", (now) => {
  const metrics = createMemoryJobMetrics({ now });
  return { metrics, finish: (outcome, durationSec) => metrics.finished(outcome, durationSec) };
});

const redis = testRedis();
const prefixes: string[] = [];
describeJobMetrics(
  "redis",
  (now) => {
    const prefix = uniqueName("metrics");
    prefixes.push(prefix);
    const store = createRedisStore({ client: redis, ttlSeconds: 60, prefix, now: () => new Date(now()) });
    const metrics = createRedisJobMetrics({ client: redis, prefix, now });
    return {
      metrics,
      async finish(outcome, durationSec) {
        const rec = newRecord();
        await store.create(rec);
        const state = outcome === "succeeded" ? "SUCCESS" : "FAILURE";
        await store.update(rec.jobid, { state, stage: state === "SUCCESS" ? "done" : "failed", progress: 1 });
        await metrics.finished(outcome, durationSec);
      },
    };
  },
  async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}:*`);
      if (keys.length) await redis.del(...keys);
    }
    await redis.quit();
  },
);

describe("Redis job metrics across processes", () => {
  it("adds up one process's events in memory and writes them together; another process sees them", async () => {
    const prefix = uniqueName("metrics-x");
    const client = testRedis();
    try {
      const worker = createRedisJobMetrics({ client, prefix });
      const web = createRedisJobMetrics({ client, prefix });
      for (let i = 0; i < 50; i++) await worker.finished("succeeded", 0.02);
      await worker.queueWait(0.5);
      // Written by the timer, without anyone asking: the other instance sees all of it.
      const seen = await waitFor(async () => {
        const s = await web.snapshot();
        return s.duration.count === 50 && s.queueWait.count === 1 ? s : null;
      });
      assert.ok(Math.abs(seen.duration.sum - 1) < 1e-9);
      // The outcome is the store's to count (in the final-state update); counting it here too
      // would count every job twice.
      assert.equal(seen.succeeded, 0);
      assert.equal(seen.finishedLastMinute, 0);
      // flush() writes what is pending at once (shutdown).
      await worker.submitted();
      await worker.flush();
      assert.equal(Number(await client.hget(`${prefix}:metrics`, "submitted")), 1);
    } finally {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length) await client.del(...keys);
      await client.quit();
    }
  });
});

describe("Redis store: a final state and its count are one atomic update", () => {
  it("counts SUCCESS and FAILURE in the update that writes them, once, with no flush; REVOKED not at all", async () => {
    const prefix = uniqueName("metrics-atomic");
    const client = testRedis();
    const clock = Date.parse("2026-01-01T00:00:07.000Z"); // slot 2026-01-01T00:00:05 (5 s slots)
    const store = createRedisStore({ client, ttlSeconds: 60, prefix, now: () => new Date(clock) });
    const slotKey = `${prefix}:metrics:finished:${Math.floor(clock / 5000)}`;
    const counts = async () => ({
      ...(await client.hgetall(`${prefix}:metrics`)),
      slot: (await client.get(slotKey)) ?? "none",
    });
    try {
      const [a, b, c, d] = [newRecord(), newRecord(), newRecord(), newRecord()];
      for (const rec of [a, b, c, d]) await store.create(rec);
      await store.update(a.jobid, { state: "PROGRESS", stage: "rendering", progress: 0.6 });
      assert.deepEqual(await counts(), { slot: "none" }, "progress is not an outcome");
      await store.update(a.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
      // Read straight after update() returns: nothing batched, nothing to flush.
      assert.deepEqual(await counts(), { succeeded: "1", slot: "1" });
      const ttl = await client.ttl(slotKey);
      assert.ok(ttl > 0 && ttl <= 120, `slot counter expires (ttl ${ttl})`);
      // Refused late writers (a raced redelivery) count nothing.
      await store.update(a.jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "late" });
      await store.update(a.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
      assert.deepEqual(await counts(), { succeeded: "1", slot: "1" });
      await store.updateMany(b.jobid, [
        { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 },
        { state: "FAILURE", stage: "failed", progress: 1, error: "boom" },
        { state: "SUCCESS", stage: "done", progress: 1 },
      ]);
      assert.deepEqual(await counts(), { succeeded: "1", failed: "1", slot: "2" });
      await store.update(c.jobid, { state: "REVOKED", stage: "cancelled", progress: 1 });
      assert.deepEqual(await counts(), { succeeded: "1", failed: "1", slot: "2" }, "a cancellation is not counted");
      // What /metrics reads: the store's counts, and finished() adds no second one.
      const metrics = createRedisJobMetrics({ client, prefix, now: () => clock });
      await store.update(d.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
      await metrics.finished("succeeded", 0.02);
      const s = await metrics.snapshot();
      assert.deepEqual([s.succeeded, s.failed, s.finishedLastMinute, s.duration.count], [2, 1, 3, 1]);
    } finally {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length) await client.del(...keys);
      await client.quit();
    }
  });
});

describe("instrumentStore: job metrics from the state changes a worker makes", () => {
  it("observes queue wait on the first start, and success once with the attempt's duration", async () => {
    let clock = Date.parse("2026-01-01T00:00:10.000Z");
    const metrics = createMemoryJobMetrics();
    const store = instrumentStore(createMemoryStore({ ttlSeconds: 60 }), metrics, {
      logger: silentLogger,
      now: () => clock,
    });
    const rec = newRecord({ created_at: "2026-01-01T00:00:08.000Z" });
    await store.create(rec);
    await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 });
    clock += 250;
    await store.update(rec.jobid, { state: "PROGRESS", stage: "rendering", progress: 0.6 });
    await store.update(rec.jobid, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa" });
    // A late writer (a raced redelivery) is refused by the store and must not count again.
    await store.update(rec.jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "late" });
    await store.update(rec.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
    const s = await waitFor(async () => {
      const snap = await metrics.snapshot();
      return snap.succeeded === 1 && snap.queueWait.count === 1 ? snap : null;
    });
    assert.equal(s.failed, 0);
    assert.equal(s.queueWait.sum, 2, "submission at :08, first start at :10");
    assert.equal(s.duration.count, 1);
    assert.equal(s.duration.sum, 0.25);
    assert.ok(await store.get(rec.jobid), "reads pass through");
    assert.deepEqual(
      (await store.recent(1)).map((r) => r.jobid),
      [rec.jobid],
    );
  });

  it("does not observe queue wait again on a retry, and counts a final failure", async () => {
    const metrics = createMemoryJobMetrics();
    const store = instrumentStore(createMemoryStore({ ttlSeconds: 60 }), metrics, { logger: silentLogger });
    const rec = newRecord();
    await store.create(rec);
    await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 });
    await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 2 });
    await store.update(rec.jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "boom" });
    const s = await waitFor(async () => {
      const snap = await metrics.snapshot();
      return snap.failed === 1 ? snap : null;
    });
    assert.equal(s.queueWait.count, 1);
    assert.equal(s.succeeded, 0);
    assert.equal(s.duration.count, 1);
  });

  it("a metrics store that fails never fails the job", async () => {
    const broken: JobMetrics = {
      submitted: () => Promise.reject(new Error("down")),
      finished: () => Promise.reject(new Error("down")),
      queueWait: () => Promise.reject(new Error("down")),
      snapshot: () => Promise.reject(new Error("down")),
      flush: () => Promise.reject(new Error("down")),
    };
    const store = instrumentStore(createMemoryStore({ ttlSeconds: 60 }), broken, { logger: silentLogger });
    const rec = newRecord();
    await store.create(rec);
    await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 });
    const done = await store.update(rec.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
    assert.equal(done!.applied, true);
  });
});
