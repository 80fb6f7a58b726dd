// (d) Poison messages published straight to the queue end in the dead-letter queue; the worker keeps serving.
// (e) RESULTS_DIR unusable → FAILURE with a reason after JOB_MAX_ATTEMPTS, message dead-lettered.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import amqplib from "amqplib";
import { createRedisStore } from "../../tasks/store/redis.js";
import { newRecord } from "../contract/job-store.contract.js";
import { realServices, testRedis } from "../helpers/services.js";
import { startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

async function withChannel<T>(fn: (ch: amqplib.ConfirmChannel) => Promise<T>): Promise<T> {
  const conn = await amqplib.connect(realServices().rabbitUrl);
  try {
    return await fn(await conn.createConfirmChannel());
  } finally {
    await conn.close();
  }
}

const deadCount = (queue: string) => withChannel(async (ch) => (await ch.checkQueue(`${queue}.dead`)).messageCount);

describe("fault: poison messages and an unusable results directory", () => {
  it("dead-letters unparseable and invalid messages at once and keeps serving", async () => {
    const stack = await startStack({ workers: 1 });
    try {
      const queue = `${stack.ns}.jobs`;
      const readableId = randomUUID();
      // A job the store knows whose message turns out to be poison must end in FAILURE, visibly.
      const known = newRecord();
      const store = createRedisStore({ client: testRedis(), ttlSeconds: 60, prefix: stack.ns });
      await store.create(known);
      const poison = [
        Buffer.from("not json at all"),
        Buffer.from([0xff, 0xfe, 0x00, 0x01]),
        Buffer.from(JSON.stringify({ jobid: "nope", input: {} })),
        Buffer.from(JSON.stringify({ jobid: readableId, input: { sepal_length: 99 }, submitted_at: "x" })),
        Buffer.from("null"),
        Buffer.from(JSON.stringify({ jobid: known.jobid, input: { sepal_length: "x" }, submitted_at: "x" })),
      ];
      await withChannel(async (ch) => {
        for (const body of poison) ch.sendToQueue(queue, body, { persistent: true });
        await ch.waitForConfirms();
      });
      await waitFor(async () => (await deadCount(queue)) === poison.length, {
        timeoutMs: 15_000,
        what: "all poison in the dead-letter queue",
      });
      const id = await stack.submitOk();
      assert.deepEqual(await stack.waitAllFinal([id]), { SUCCESS: 1 }, "the worker keeps serving");
      assert.equal((await stack.progress(readableId)).status, 404, "a poison id unknown to the store is not invented");
      const failed = await stack.progress(known.jobid);
      assert.equal(failed.body.state, "FAILURE");
      assert.match(String(failed.body.error), /invalid/);
      await store.close();
      assert.ok(stack.workers[0]!.logs().some((l) => l.msg === "unparseable job message; dead-lettering"));
      console.log(`# poison: published ${poison.length}, dead-lettered ${await deadCount(queue)}, worker still serving`);
    } finally {
      await stack.stop();
    }
  });

  it("fails a job whose PDF cannot be written, after JOB_MAX_ATTEMPTS, with a reason", async () => {
    const notADir = join(tmpdir(), `iris-not-a-dir-${randomUUID()}`);
    writeFileSync(notADir, "a file where a directory should be");
    const stack = await startStack({ workers: 0, env: { JOB_MAX_ATTEMPTS: "3" } });
    try {
      // LOG_LEVEL=debug: the attempts are counted by their "validating" stage lines.
      await stack.addWorker({ RESULTS_DIR: join(notADir, "results"), LOG_LEVEL: "debug" });
      const id = await stack.submitOk();
      assert.deepEqual(await stack.waitAllFinal([id], 30_000), { FAILURE: 1 });
      const { body } = await stack.progress(id);
      assert.equal(body.progress, 1);
      assert.match(String(body.error), /after 3 attempts: the report could not be saved on the server/);
      assert.doesNotMatch(String(body.error), /ENOTDIR|\/tmp/, "no paths or codes leak to the user");
      const page = await (await fetch(`${stack.base}/jobs/${id}`)).text();
      assert.match(page, /could not be saved on the server/);
      const result = await fetch(`${stack.base}/result?jobid=${id}`);
      assert.equal(result.status, 409);
      assert.equal(await deadCount(`${stack.ns}.jobs`), 1, "the message is dead-lettered");
      const attempts = stack.workers[0]!.logs().filter((l) => l.jobId === id && l.msg === "job stage" && l.stage === "validating");
      assert.equal(attempts.length, 3, "tried exactly JOB_MAX_ATTEMPTS times");
    } finally {
      await stack.stop();
    }
  });
});
