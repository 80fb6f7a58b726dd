import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSubmitter, type SubmitDeps } from "../../app/submit-job.js";
import type { Measurements } from "../../tasks/contract.js";
import { QueueFullError, QueueUnavailableError } from "../../tasks/errors.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import { createMemoryStore } from "../../tasks/store/memory.js";

const input = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };

/** The single-flower path the form uses: submit one input, get its id. */
const createJobSubmitter = (deps: SubmitDeps) => {
  const submit = createSubmitter(deps);
  return async (m: Measurements) => (await submit({ input: m })).jobid;
};

function fakeQueue(publish: JobQueue["publish"], messages = 0): JobQueue {
  return { publish, stats: async () => ({ messages, consumers: 1 }), consume: async () => ({ stop: async () => {} }), close: async () => {} };
}

describe("submitJob", () => {
  it("stores PENDING, then publishes, and returns the id", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    const published: string[] = [];
    const submit = createJobSubmitter({ store, maxQueueDepth: 10, queue: fakeQueue(async (m) => void published.push(m.jobid)) });
    const id = await submit(input);
    assert.deepEqual(published, [id]);
    assert.equal((await store.get(id))!.state, "PENDING");
  });

  it("refuses with QueueFullError at MAX_QUEUE_DEPTH and stores nothing", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    let created = 0;
    await store.subscribe(() => created++);
    const submit = createJobSubmitter({ store, maxQueueDepth: 3, queue: fakeQueue(async () => assert.fail(), 3) });
    await assert.rejects(submit(input), QueueFullError);
    assert.equal(created, 0);
  });

  it("when the broker does not confirm: the job is marked FAILURE and the error propagates (503)", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    let id = "";
    const submit = createJobSubmitter({
      store,
      maxQueueDepth: 0,
      queue: fakeQueue(async (m) => {
        id = m.jobid;
        throw new QueueUnavailableError();
      }),
    });
    await assert.rejects(submit(input), QueueUnavailableError);
    const rec = (await store.get(id))!;
    assert.equal(rec.state, "FAILURE");
    assert.equal(rec.progress, 1);
  });

  it("a lost confirm for a job a worker already finished counts as accepted", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    const submit = createJobSubmitter({
      store,
      maxQueueDepth: 0,
      queue: fakeQueue(async (m) => {
        await store.update(m.jobid, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa" });
        throw new QueueUnavailableError();
      }),
    });
    const id = await submit(input);
    assert.equal((await store.get(id))!.state, "SUCCESS");
  });
});
