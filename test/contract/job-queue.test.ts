import { createMemoryQueue } from "../../tasks/queue/memory.js";
import { createRabbitQueue } from "../../tasks/queue/rabbitmq.js";
import { deleteQueues, realServices, testRabbit, uniqueName } from "../helpers/services.js";
import amqplib from "amqplib";
import { describeJobQueue } from "./job-queue.contract.js";

describeJobQueue("memory", async (maxAttempts) => {
  const queue = createMemoryQueue({ maxAttempts });
  return { queue, deadLetters: async () => queue.dead, dispose: () => queue.close() };
});

describeJobQueue("rabbitmq", async (maxAttempts) => {
  const name = uniqueName("jobs");
  const connection = await testRabbit();
  const queue = createRabbitQueue({ connection, queue: name, maxAttempts });
  // Dead letters are read with basic.get on a separate plain connection.
  const reader = await amqplib.connect(realServices().rabbitUrl);
  const ch = await reader.createChannel();
  const letters: Buffer[] = [];
  return {
    queue,
    async deadLetters() {
      await queue.stats(); // topology exists once the queue has opened a channel
      for (;;) {
        const msg = await ch.get(`${name}.dead`, { noAck: true }).catch(() => false as const);
        if (!msg) break;
        letters.push(msg.content);
      }
      return letters;
    },
    async dispose() {
      await queue.close();
      await connection.close().catch(() => {});
      await reader.close().catch(() => {});
      await deleteQueues(name);
    },
  };
});
