// The RabbitMQ queue's one recovery path (amqplib's connection recovery; tasks/queue/rabbitmq.ts)
// on a real broker: after a dropped connection and after the broker cancels the consumer, the same
// consumer takes deliveries again, and a delivery in hand when its channel died is redelivered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import amqplib from "amqplib";
import { createRabbitQueue } from "../../tasks/queue/rabbitmq.js";
import type { Outcome } from "../../tasks/queue/types.js";
import { newMessage } from "../contract/job-queue.contract.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";
import { rabbitmqctl } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

/** A queue on a recovering connection handed over before it connects, as the entry files do. */
async function openQueue() {
  const name = uniqueName("recovery");
  const connection = await amqplib.connect(realServices().rabbitUrl, {
    recovery: { initialDelay: 100, maxDelay: 1000, maxRetries: Infinity, waitForConnect: false },
  });
  connection.on("error", () => {});
  const queue = createRabbitQueue({ connection, queue: name, maxAttempts: 5, startsConnected: false });
  const warnings: string[] = [];
  queue.on("warn", (message: string) => warnings.push(message));
  await connection.waitForConnect();
  return {
    name,
    queue,
    warnings,
    async dispose() {
      await queue.close();
      await connection.close().catch(() => {});
      await deleteQueues(name);
    },
  };
}

/** Publishes once the queue answers (it refuses while reconnecting) and returns the job id. */
async function publishWhenBack(queue: ReturnType<typeof createRabbitQueue>): Promise<string> {
  const message = newMessage();
  await waitFor(() => queue.publish(message).then(() => true), { timeoutMs: 20_000, what: "a confirmed publish" });
  return message.jobid;
}

describe("RabbitMQ queue recovery", () => {
  it("consumes again after the broker cancels the consumer (its queue deleted)", async () => {
    const t = await openQueue();
    try {
      const got: string[] = [];
      const consumer = await t.queue.consume(
        async (d) => {
          got.push(JSON.parse(d.body.toString()).jobid);
          return "ack";
        },
        { concurrency: 2 },
      );
      const first = await publishWhenBack(t.queue);
      await waitFor(() => got.includes(first), { what: "the first delivery" });

      const admin = await amqplib.connect(realServices().rabbitUrl);
      try {
        await (await admin.createChannel()).deleteQueue(t.name);
      } finally {
        await admin.close().catch(() => {});
      }
      // The queue is declared again by the consumer's recovery; a job published before it exists
      // would be dropped by the broker, so wait until a consumer is attached to it again.
      await waitFor(async () => (await t.queue.stats()).consumers === 1, { timeoutMs: 20_000, what: "the consumer back" });
      const second = await publishWhenBack(t.queue);
      await waitFor(() => got.includes(second), { timeoutMs: 20_000, what: "a delivery after the cancel" });
      await consumer.stop();
      assert.deepEqual(got, [first, second]);
    } finally {
      await t.dispose();
    }
  });

  it("after a dropped connection, redelivers the job in hand and takes new ones", async () => {
    const t = await openQueue();
    try {
      const attempts = new Map<string, number[]>();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const consumer = await t.queue.consume(
        async (d): Promise<Outcome> => {
          const id = JSON.parse(d.body.toString()).jobid as string;
          attempts.set(id, [...(attempts.get(id) ?? []), d.attempt]);
          if (d.attempt === 1 && attempts.size === 1) await held; // in hand when the connection drops
          return "ack";
        },
        { concurrency: 2 },
      );
      const first = await publishWhenBack(t.queue);
      await waitFor(() => attempts.has(first), { what: "the first delivery" });

      await rabbitmqctl("close_all_connections", "test: connection dropped");
      await waitFor(() => (attempts.get(first) ?? []).length === 2, { timeoutMs: 20_000, what: "the redelivery" });
      release(); // its ack goes to the dead channel and is dropped; the redelivery was acked
      const second = await publishWhenBack(t.queue);
      await waitFor(() => attempts.has(second), { timeoutMs: 20_000, what: "a new job after the reconnect" });
      await waitFor(async () => (await t.queue.stats()).messages === 0, { what: "nothing left queued" });
      await consumer.stop();
      assert.deepEqual(attempts.get(first), [1, 2]);
      assert.deepEqual(attempts.get(second), [1]);
    } finally {
      await t.dispose();
    }
  });
});
