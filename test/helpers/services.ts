import { randomUUID } from "node:crypto";
import amqplib from "amqplib";
import { Redis } from "ioredis";

/**
 * URLs of the real services that scripts/test.sh started (or found). Real-service tests never
 * skip: without them the test fails and says how to run it.
 */
export function realServices(): { redisUrl: string; rabbitUrl: string } {
  const redisUrl = process.env.TEST_REDIS_URL;
  const rabbitUrl = process.env.TEST_RABBITMQ_URL;
  if (!redisUrl || !rabbitUrl) {
    throw new Error("TEST_REDIS_URL / TEST_RABBITMQ_URL are not set: run the suite with `npm test`");
  }
  return { redisUrl, rabbitUrl };
}

/** A name no other test uses: queues, key prefixes. */
export function uniqueName(kind: string): string {
  return `test-${kind}-${randomUUID().slice(0, 8)}`;
}

/** A Redis client for tests (quiet on errors). */
export function testRedis(): Redis {
  const client = new Redis(realServices().redisUrl, { maxRetriesPerRequest: 2 });
  client.on("error", () => {});
  return client;
}

/** An amqplib connection with recovery, like the entry files make. */
export async function testRabbit() {
  const conn = await amqplib.connect(realServices().rabbitUrl, {
    recovery: { initialDelay: 100, maxDelay: 1000, maxRetries: Infinity },
  });
  conn.on("error", () => {});
  return conn;
}

/** Deletes a test queue and its dead-letter companions. */
export async function deleteQueues(queue: string): Promise<void> {
  const conn = await amqplib.connect(realServices().rabbitUrl);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue).catch(() => {});
    const ch2 = await conn.createChannel();
    await ch2.deleteQueue(`${queue}.dead`).catch(() => {});
    const ch3 = await conn.createChannel();
    await ch3.deleteExchange(`${queue}.dlx`).catch(() => {});
  } finally {
    await conn.close().catch(() => {});
  }
}

/** How many messages the dead-letter queue of `queue` holds. */
export async function deadLettered(queue: string): Promise<number> {
  const conn = await amqplib.connect(realServices().rabbitUrl);
  try {
    return (await (await conn.createChannel()).checkQueue(`${queue}.dead`)).messageCount;
  } finally {
    await conn.close();
  }
}
