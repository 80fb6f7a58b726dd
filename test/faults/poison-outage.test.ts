// A poison message whose FAILURE write has to wait for Redis: the job still ends FAILURE, with
// its reason, once Redis is back, and only then is the message dead-lettered (item 5 of issue 12).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as outageLasts } from "node:timers/promises";
import amqplib from "amqplib";
import { Redis } from "ioredis";
import { createRedisStore } from "../../tasks/store/redis.js";
import { newRecord } from "../contract/job-store.contract.js";
import { startPrivateRedis } from "../helpers/private-redis.js";
import { realServices } from "../helpers/services.js";
import { startStack } from "../helpers/stack.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

/** How long the worker cannot reach Redis (the fault itself, not a synchronisation). */
const OUTAGE_MS = 3000;

describe("fault: a poison message arrives while the worker cannot reach Redis", () => {
  it("records the job's FAILURE once Redis answers, then dead-letters the message", async () => {
    const redis = await startPrivateRedis();
    // The worker reaches Redis through a proxy the test cuts; Redis itself keeps the job's state.
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: redis.port });
    const stack = await startStack({ workers: 0, kind: "poison-outage", env: { REDIS_URL: redis.url } });
    const client = new Redis(redis.url);
    const store = createRedisStore({ client, ttlSeconds: 600, prefix: stack.ns });
    const conn = await amqplib.connect(realServices().rabbitUrl);
    try {
      const worker = await stack.addWorker({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      const known = newRecord();
      await store.create(known);
      const queue = `${stack.ns}.jobs`;
      const ch = await conn.createConfirmChannel();
      await proxy.cut();
      ch.sendToQueue(queue, Buffer.from(JSON.stringify({ jobid: known.jobid, input: { sepal_length: "x" }, submitted_at: "x" })), {
        persistent: true,
      });
      await ch.waitForConfirms();
      await waitFor(() => worker.logs().some((l) => l.msg === "invalid job message; dead-lettering"), { what: "the worker to refuse it" });
      await outageLasts(OUTAGE_MS);
      await proxy.restore();

      const failed = await waitFor(
        async () => {
          const rec = await store.get(known.jobid);
          return rec?.state === "FAILURE" ? rec : null;
        },
        { timeoutMs: 15_000, intervalMs: 100, what: "the job to end FAILURE" },
      );
      assert.match(String(failed.error), /invalid/, "with a reason a person can read");
      assert.equal(failed.progress, 1);
      await waitFor(async () => (await ch.checkQueue(`${queue}.dead`)).messageCount === 1, { what: "the message dead-lettered" });
    } finally {
      await conn.close().catch(() => {});
      await store.close();
      await stack.stop();
      await proxy.close();
      await redis.close();
    }
  });
});
