// REDIS_WAIT_REPLICAS on a real primary and replica: a final state waits for the replica
// (Redis WAIT) before the store says it is written; with the replica hung, one final state waits
// out the timeout and says so, and the next ones go on without waiting until the retry time.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createRedisStore, REPLICAS_RETRY_MS } from "../../tasks/store/redis.js";
import type { JobRecord } from "../../tasks/store/types.js";
import { startSentinelGroup, type SentinelGroup } from "../helpers/redis-sentinel.js";
import { uniqueName } from "../helpers/services.js";

describe("store: final states wait for REDIS_WAIT_REPLICAS replicas", () => {
  let group: SentinelGroup;
  let client: Redis;
  let admin: Redis;
  before(async () => {
    group = await startSentinelGroup();
    client = new Redis({ port: group.ports[0], host: "127.0.0.1", maxRetriesPerRequest: 1 });
    admin = new Redis({ port: group.ports[0], host: "127.0.0.1", maxRetriesPerRequest: 1 });
  });
  after(async () => {
    client?.disconnect();
    admin?.disconnect();
    await group?.close();
  });

  /** WAIT commands the primary has run so far. */
  const waits = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await admin.info("commandstats"))?.[1] ?? 0);

  it("waits for the replica, and goes on without a hung one for a while", async () => {
    let clock = Date.now();
    const events: Array<{ short: boolean; confirmed: number }> = [];
    const store = createRedisStore({
      client,
      ttlSeconds: 600,
      prefix: uniqueName("wait"),
      now: () => new Date(clock),
      waitReplicas: 1,
      onReplicas: ({ short, confirmed }) => events.push({ short, confirmed }),
    });
    const job = async (i: number) => {
      const record: JobRecord = {
        jobid: `00000000-0000-4000-8000-00000000000${i}`,
        state: "PENDING",
        progress: 0,
        stage: "queued",
        attempts: 0,
        created_at: new Date(clock).toISOString(),
        updated_at: new Date(clock).toISOString(),
      };
      await store.create(record);
      return record.jobid;
    };
    const finish = (id: string) => store.update(id, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa" });

    const a = await job(1);
    let before = await waits();
    await store.update(a, { stage: "rendering", progress: 0.6 });
    assert.equal(await waits(), before, "a stage update does not wait");
    assert.equal((await finish(a))?.applied, true);
    assert.equal(await waits(), before + 1, "a final state waits for the replica");
    assert.deepEqual(events, [], "the replica confirmed: nothing to say");
    // A cancellation is final too: lost in a failover, the job would run after all.
    const cancelled = await job(5);
    before = await waits();
    assert.equal((await store.update(cancelled, { state: "REVOKED", stage: "cancelled", progress: 1 }))?.applied, true);
    assert.equal(await waits(), before + 1, "a cancellation waits for the replica");

    group.hang(group.ports[1]!);
    try {
      const [b, c] = [await job(2), await job(3)];
      before = await waits();
      assert.equal((await finish(b))?.applied, true, "written all the same");
      assert.deepEqual(events, [{ short: true, confirmed: 0 }], "the shortfall is told once");
      assert.equal((await finish(c))?.applied, true);
      assert.equal(await waits(), before + 1, "the next final state does not wait out the timeout again");
    } finally {
      group.resume(group.ports[1]!);
    }
    clock += REPLICAS_RETRY_MS + 1;
    const d = await job(4);
    before = await waits();
    await finish(d);
    assert.equal(await waits(), before + 1, "after the retry time it waits again");
    assert.deepEqual(events.at(-1), { short: false, confirmed: 1 }, "and says the replica confirms again");
  });
});
