// RATE_LIMIT_PER_MINUTE with Redis down: the limiter falls back to a per-process count, so
// nothing answers 5xx for the outage and the limit still holds (item 6 of issue 12).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startPrivateRedis } from "../helpers/private-redis.js";
import { SETOSA_FORM, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

const LIMIT = 5;
/** "Promptly": well under the 4–6 s the unhandled MaxRetriesPerRequestError took. */
const BOUND_MS = 3000;
const SETOSA_JSON = JSON.stringify({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } });

describe("fault: Redis down with the rate limit on", () => {
  it("answers the form with 503, sync predicts with 200 then 429 at the limit, never 5xx for the outage", async () => {
    const redis = await startPrivateRedis();
    const stack = await startStack({ workers: 0, kind: "rl", env: { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: String(LIMIT) } });
    const timed = async (init: RequestInit) => {
      const started = Date.now();
      const res = await fetch(`${stack.base}/predict`, { redirect: "manual", signal: AbortSignal.timeout(15_000), ...init });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: res.headers.get("retry-after"), ms: Date.now() - started };
    };
    const form = () => timed({ method: "POST", body: new URLSearchParams(SETOSA_FORM) });
    const sync = () => timed({ method: "POST", headers: { "Content-Type": "application/json" }, body: SETOSA_JSON });
    try {
      await redis.stop();
      const posted = await form();
      assert.equal(posted.status, 503, "a form post needs Redis for the job's state: 503");
      assert.ok(Number(posted.retryAfter) > 0, "with Retry-After");
      assert.ok(posted.ms < BOUND_MS, `form post answered in ${posted.ms} ms`);
      // The form post took one point of this process's fallback count; LIMIT - 1 predicts remain.
      const predicts = [];
      for (let i = 0; i < LIMIT; i++) predicts.push(await sync());
      assert.deepEqual(
        predicts.map((p) => p.status),
        [...Array<number>(LIMIT - 1).fill(200), 429],
        "sync predicts work during the outage, and the limit still holds per process",
      );
      for (const p of predicts) assert.ok(p.ms < BOUND_MS, `sync predict answered in ${p.ms} ms`);

      await redis.start();
      // Back on the shared (Redis) count, which is fresh: submissions are accepted again.
      await waitFor(async () => (await form()).status === 303, { timeoutMs: 10_000, intervalMs: 200, what: "form posts accepted again" });
      console.log(
        `# rate limit, redis down: form 503 in ${posted.ms} ms, sync predicts ${predicts.map((p) => `${p.status}/${p.ms}ms`).join(" ")}`,
      );
    } finally {
      await stack.stop();
      await redis.close();
    }
  });
});
