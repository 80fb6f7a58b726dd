import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobMessage } from "../../tasks/contract.js";
import type { Delivery, JobQueue, Outcome } from "../../tasks/queue/types.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import { startWorker } from "../../tasks/worker.js";
import { newRecord } from "../contract/job-store.contract.js";
import { silentLogger } from "../helpers/silent-logger.js";

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
  await startWorker({ queue: q.queue, store, processJob, logger: silentLogger, concurrency: 1, maxAttempts: 3 });
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
