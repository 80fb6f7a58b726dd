import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createSubmitter, type SubmitDeps, type Submission } from "../../app/submit-job.js";
import type { Measurements } from "../../tasks/contract.js";
import { HttpError, IdempotencyConflictError } from "../../app/http-errors.js";
import { QueueFullError, QueueUnavailableError } from "../../tasks/errors.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import { waitFor } from "../helpers/wait-for.js";

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

describe("submit with an Idempotency-Key", () => {
  const key = "order-1";
  const same = () => ({ input });
  /** Every submission's outcome: its id, or the error it was refused with. */
  const settle = (promises: Array<Promise<Submission>>) => Promise.allSettled(promises);
  const refusals = (outcomes: Array<PromiseSettledResult<Submission>>) =>
    outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as Error] : []));

  it("with the queue full, 20 concurrent submissions never answer with the id of a job that does not exist", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    const submit = createSubmitter({
      store,
      maxQueueDepth: 3,
      queue: fakeQueue(async () => assert.fail("nothing is published"), 3),
    });
    const outcomes = await settle(Array.from({ length: 20 }, () => submit(same(), { idempotencyKey: key })));
    for (const o of outcomes) {
      if (o.status === "fulfilled")
        assert.ok(await store.get(o.value.jobid), `answered ${o.value.jobid}, which does not exist`);
    }
    assert.equal(
      outcomes.filter((o) => o.status === "fulfilled").length,
      0,
      "nothing was accepted, so nothing is answered with an id",
    );
    for (const err of refusals(outcomes))
      assert.ok(err instanceof QueueFullError || err instanceof IdempotencyConflictError, String(err));

    // The refused submission released its key: once the queue has room, the retry goes through.
    const retry = await createSubmitter({ store, maxQueueDepth: 3, queue: fakeQueue(async () => {}, 0) })(same(), {
      idempotencyKey: key,
    });
    assert.equal(retry.replayed, false);
    assert.equal((await store.get(retry.jobid))!.state, "PENDING");
  });

  it("when the broker refuses the publish, no concurrent submission is answered with the refused job's id", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    const submit = createSubmitter({
      store,
      maxQueueDepth: 0,
      queue: fakeQueue(async () => {
        throw new QueueUnavailableError();
      }),
    });
    const outcomes = await settle(Array.from({ length: 20 }, () => submit(same(), { idempotencyKey: key })));
    const answered = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.jobid] : []));
    assert.deepEqual(answered, [], "no job was accepted by the broker");
    for (const err of refusals(outcomes))
      assert.ok(err instanceof QueueUnavailableError || err instanceof IdempotencyConflictError, String(err));
  });

  it("on a working queue, concurrent submissions make one job: 409 while it is being accepted, the replay once it is", async () => {
    const store = createMemoryStore({ ttlSeconds: 60 });
    const published: string[] = [];
    let confirm: () => void = () => {};
    const submit = createSubmitter({
      store,
      maxQueueDepth: 10,
      queue: fakeQueue(async (m) => {
        published.push(m.jobid);
        await new Promise<void>((r) => (confirm = r));
      }),
    });
    let confirmed = false;
    const early: string[] = [];
    // Settled as they come: the refusals arrive while the first is still waiting for the broker.
    const all = settle(
      Array.from({ length: 20 }, () =>
        submit(same(), { idempotencyKey: key }).then((s) => {
          if (!confirmed) early.push(s.jobid);
          return s;
        }),
      ),
    );
    await waitFor(() => published.length === 1, { what: "the publish" });
    // While the first is waiting for the broker: the same request is told to retry, another one is still 422.
    await assert.rejects(submit(same(), { idempotencyKey: key }), (err: Error) => {
      assert.ok(err instanceof IdempotencyConflictError);
      assert.equal(err.retryAfterSec, 1);
      assert.equal(err.message, "A request with this Idempotency-Key is still being processed; retry shortly.");
      return true;
    });
    await assert.rejects(
      submit({ input: { ...input, petal_width: 2 } }, { idempotencyKey: key }),
      (err: Error) => err instanceof HttpError && err.status === 422,
    );
    confirmed = true;
    confirm();
    const outcomes = await all;
    assert.deepEqual(early, [], "no answer before the broker confirmed");
    assert.equal(published.length, 1, "one job");
    const ids = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.jobid] : []));
    assert.deepEqual(ids, [published[0]], "the one 202 is the job that was published");
    for (const err of refusals(outcomes)) assert.ok(err instanceof IdempotencyConflictError, String(err));

    const replay = await submit(same(), { idempotencyKey: key });
    assert.deepEqual(replay, { jobid: published[0], replayed: true });
    await assert.rejects(
      submit({ input: { ...input, petal_width: 2 } }, { idempotencyKey: key }),
      (err: Error) => err instanceof HttpError && err.status === 422,
    );
    assert.equal(published.length, 1);
  });

  it("a claim left in progress by a crashed web process expires in 30 s; an accepted one lasts the retention period", async () => {
    let clock = Date.parse("2025-01-01T00:00:00Z");
    const store = createMemoryStore({ ttlSeconds: 3600, now: () => new Date(clock) });
    // The first process "crashes" after claiming: its publish never comes back.
    const stuck = createSubmitter({ store, maxQueueDepth: 0, queue: fakeQueue(() => new Promise(() => {})) });
    void stuck(same(), { idempotencyKey: key });
    const published: string[] = [];
    const submit = createSubmitter({
      store,
      maxQueueDepth: 0,
      queue: fakeQueue(async (m) => void published.push(m.jobid)),
    });
    await assert.rejects(submit(same(), { idempotencyKey: key }), IdempotencyConflictError);
    clock += 29_000;
    await assert.rejects(submit(same(), { idempotencyKey: key }), IdempotencyConflictError);
    clock += 2_000;
    const next = await submit(same(), { idempotencyKey: key });
    assert.deepEqual(next, { jobid: published[0], replayed: false });
    clock += 3000_000;
    assert.deepEqual(await submit(same(), { idempotencyKey: key }), { jobid: next.jobid, replayed: true });
    clock += 600_001;
    const after = await submit(same(), { idempotencyKey: key });
    assert.equal(after.replayed, false, "past the retention period the key is new again");
  });
});
