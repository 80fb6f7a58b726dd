import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobMessage } from "../../tasks/contract.js";
import { StoreUnavailableError } from "../../tasks/errors.js";
import type { Delivery, JobQueue, Outcome } from "../../tasks/queue/types.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import type { JobStore } from "../../tasks/store/types.js";
import { consumeJobs } from "../../tasks/worker.js";
import { newRecord } from "../contract/job-store.contract.js";
import { silentLogger } from "../helpers/silent-logger.js";
import { waitFor } from "../helpers/wait-for.js";

/** A queue whose single consumer the test drives by hand. */
function handQueue() {
  let handler: ((d: Delivery) => Promise<Outcome>) | null = null;
  const queue: JobQueue = {
    publish: async () => {},
    stats: async () => ({ messages: 0, consumers: handler ? 1 : 0 }),
    consume: async (h) => {
      handler = h;
      return { stop: async () => {} };
    },
    close: async () => {},
  };
  return { queue, deliver: (body: unknown, attempt: number) => handler!({ body: Buffer.from(JSON.stringify(body)), attempt }) };
}

async function setup(processJob: (m: JobMessage, attempt: number) => Promise<void>) {
  const store = createMemoryStore({ ttlSeconds: 60 });
  const q = handQueue();
  await consumeJobs({ queue: q.queue, store, processJob, logger: silentLogger, concurrency: 1, maxAttempts: 3 });
  return { store, ...q };
}

describe("worker outcomes", () => {
  const rec = newRecord();
  const msg = { jobid: rec.jobid, input: rec.input, submitted_at: rec.created_at };

  it("acks a processed job", async () => {
    const t = await setup(async () => {});
    assert.equal(await t.deliver(msg, 1), "ack");
  });

  it("retries a failed attempt, and fails + dead-letters the last one with a reason", async () => {
    const t = await setup(async () => {
      throw Object.assign(new Error("disk"), { code: "ENOSPC" });
    });
    await t.store.create(rec);
    assert.equal(await t.deliver(msg, 1), "retry");
    assert.equal(await t.deliver(msg, 2), "retry");
    assert.equal((await t.store.get(rec.jobid))!.state, "PENDING");
    assert.equal(await t.deliver(msg, 3), "dead");
    const failed = (await t.store.get(rec.jobid))!;
    assert.equal(failed.state, "FAILURE");
    assert.equal(failed.error, "The report could not be produced after 3 attempts: the report could not be saved on the server.");
  });

  it("fails a job delivered past the limit (its workers died every time) without running it", async () => {
    let ran = false;
    const t = await setup(async () => {
      ran = true;
    });
    const r = newRecord();
    await t.store.create(r);
    assert.equal(await t.deliver({ ...msg, jobid: r.jobid }, 4), "dead");
    assert.equal(ran, false);
    assert.match((await t.store.get(r.jobid))!.error!, /interrupted 3 times/);
  });

  it("dead-letters a message that is not JSON or not a job, marking a known job FAILURE", async () => {
    const t = await setup(async () => assert.fail("must not run"));
    const r = newRecord();
    await t.store.create(r);
    assert.equal(await t.deliver("just a string", 1), "dead");
    assert.equal(await t.deliver({ jobid: r.jobid, input: {} }, 1), "dead");
    assert.equal((await t.store.get(r.jobid))!.state, "FAILURE");
  });
});

/** A memory store that is "unreachable" (every call, ping included, throws StoreUnavailableError) while `down`. */
function flakyStore() {
  const inner = createMemoryStore({ ttlSeconds: 60 });
  const state = { down: false, pings: 0 };
  const store: JobStore = Object.create(inner);
  const gated =
    <A extends unknown[], R>(fn: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      if (state.down) throw new StoreUnavailableError();
      return fn(...a);
    };
  store.update = gated(inner.update.bind(inner));
  store.ping = async () => {
    state.pings++;
    if (state.down) throw new StoreUnavailableError();
  };
  return { store, inner, state };
}

async function setupFlaky(processJob: (m: JobMessage, attempt: number) => Promise<void>) {
  const f = flakyStore();
  const q = handQueue();
  const worker = await consumeJobs({ queue: q.queue, store: f.store, processJob, logger: silentLogger, concurrency: 1, maxAttempts: 3 });
  return { ...f, ...q, worker };
}

describe("worker during a store outage", () => {
  const rec = newRecord();
  const msg = { jobid: rec.jobid, input: rec.input, submitted_at: rec.created_at };

  it("holds a job that met the outage and runs it again as the same attempt once the store answers", async () => {
    const runs: number[] = [];
    let t: Awaited<ReturnType<typeof setupFlaky>> | undefined = undefined;
    t = await setupFlaky(async (_m, attempt) => {
      runs.push(attempt);
      if (runs.length === 1) {
        t!.state.down = true;
        throw new StoreUnavailableError();
      }
    });
    const outcome = t.deliver(msg, 1);
    await waitFor(() => t.state.pings >= 2, { what: "the worker to ping the store" });
    t.state.down = false;
    assert.equal(await outcome, "ack", "not requeued: a requeue would cost a delivery");
    assert.deepEqual(runs, [1, 1], "run again with the same attempt number");
  });

  it("waits out the outage before a job's last-attempt FAILURE is written, then dead-letters", async () => {
    const t = await setupFlaky(async () => {
      throw Object.assign(new Error("disk"), { code: "ENOSPC" });
    });
    await t.inner.create(rec);
    t.state.down = true;
    const outcome = t.deliver(msg, 3);
    await waitFor(() => t.state.pings >= 2, { what: "the worker to wait for the store" });
    t.state.down = false;
    assert.equal(await outcome, "dead");
    assert.equal((await t.inner.get(rec.jobid))!.state, "FAILURE");
  });

  it("writes FAILURE for a poison message and for one past the delivery limit once the store answers", async () => {
    const t = await setupFlaky(async () => assert.fail("must not run"));
    const poison = newRecord();
    const lost = newRecord();
    await t.inner.create(poison);
    await t.inner.create(lost);
    t.state.down = true;
    const outcomes = [t.deliver({ jobid: poison.jobid, input: {} }, 1), t.deliver({ ...msg, jobid: lost.jobid }, 4)];
    await waitFor(() => t.state.pings >= 2, { what: "the worker to wait for the store" });
    t.state.down = false;
    assert.deepEqual(await Promise.all(outcomes), ["dead", "dead"]);
    assert.match((await t.inner.get(poison.jobid))!.error!, /invalid/);
    assert.match((await t.inner.get(lost.jobid))!.error!, /interrupted 3 times/);
  });

  it("returns a held job to the queue when the worker stops during the outage", async () => {
    const t = await setupFlaky(async () => {
      t.state.down = true;
      throw new StoreUnavailableError();
    });
    const outcome = t.deliver(msg, 1);
    await waitFor(() => t.state.pings >= 1, { what: "the worker to hold the job" });
    await t.worker.close();
    assert.equal(await outcome, "retry");
  });
});
