// Redis failover (issue 15 item 5): a primary, a replica and three sentinels of the test's own.
// The primary is SIGKILLed while jobs are being submitted and run; web and workers find the
// promoted replica through the sentinels by themselves, submissions are accepted again, and every
// job accepted before, during or after the failover reaches SUCCESS.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startSentinelGroup, type SentinelGroup } from "../helpers/redis-sentinel.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { startSubmitLoad } from "../helpers/submit-load.js";
import { waitFor } from "../helpers/wait-for.js";

const FLOWER = { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6, petal_width: 2.5 };
const SUBMITTERS = 4;

describe("fault: the Redis primary is killed under load (Sentinel failover)", () => {
  let group: SentinelGroup;
  let stack: Stack;

  before(async () => {
    group = await startSentinelGroup();
    stack = await startStack({
      workers: 2,
      kind: "failover",
      env: { REDIS_URL: "", REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name, WORKER_CONCURRENCY: "4" },
    });
  });
  after(async () => {
    await stack?.stop();
    await group?.close();
  });

  it("recovers on the promoted replica by itself and finishes every accepted job", async () => {
    const load = startSubmitLoad(stack.base, FLOWER, SUBMITTERS);
    const { accepted, answers } = load;
    let killedAt = Infinity;
    try {
      await waitFor(() => accepted.length >= 80, { timeoutMs: 30_000, intervalMs: 10, what: "80 jobs accepted before the kill" });
      const old = await group.primaryPort();
      killedAt = Date.now();
      await group.kill(old);
      await waitFor(async () => (await group.primaryPort()) !== old, {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: "the sentinels to promote the replica",
      });
      const promotedAfterMs = Date.now() - killedAt;
      await waitFor(() => accepted.filter((a) => a.at > killedAt).length >= 80, {
        timeoutMs: 30_000,
        intervalMs: 10,
        what: "80 jobs sent after the kill accepted",
      });
      await load.stop();

      const firstAfter = Math.min(...accepted.filter((a) => a.at > killedAt).map((a) => a.at));
      const counts = await stack.waitAllFinal(accepted.map((a) => a.id), 60_000).catch(async (err: Error) => {
        const logs = [...stack.workers, stack.web].flatMap((p) => p.logs().slice(-8));
        const sample = await stack.progress(accepted[0]!.id);
        throw new Error(`${err.message}; first job: ${JSON.stringify(sample)}; last log lines: ${JSON.stringify(logs)}`);
      });
      const ready = await fetch(`${stack.base}/readyz`);
      console.log(
        `# redis failover: ${accepted.length} accepted (${accepted.filter((a) => a.at <= killedAt).length} sent before the kill), ` +
          `${counts.SUCCESS ?? 0} succeeded, ${accepted.length - (counts.SUCCESS ?? 0)} lost; ` +
          `answers ${JSON.stringify(answers)}; replica promoted ${promotedAfterMs} ms after the kill, ` +
          `the first submission sent after it and accepted was sent ${firstAfter - killedAt} ms after it; /readyz ${ready.status}`,
      );
      assert.deepEqual(counts, { SUCCESS: accepted.length }, "every accepted job succeeded");
      assert.equal(ready.status, 200, "the web is ready on the promoted replica");
      assert.ok(firstAfter - killedAt < 20_000, "submissions are accepted again within 20 s of the kill");
    } finally {
      await load.stop().catch(() => {});
    }
  });
});
