// A hung Redis (SIGSTOP: connections open, no answers) is an outage, not a hang: every request
// that needs Redis answers 503 + Retry-After within a few seconds (item 6 of issue 12).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { io } from "socket.io-client";
import { startPrivateRedis } from "../helpers/private-redis.js";
import { SETOSA_FORM, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

/** What "a few seconds" is: the bound every answer must meet while Redis hangs. */
const BOUND_MS = 4000;
/** Past this a request counts as hung (today's behaviour); the test fails rather than waits on. */
const GIVE_UP_MS = 10_000;

type Ack = { ok: true } | { ok: false; error: string; status: number };

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

const ASYNC_JSON = { "Content-Type": "application/json", "Async-Mode": "true" };
const SETOSA_JSON = JSON.stringify({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } });

describe("fault: Redis hangs (SIGSTOP)", () => {
  it("answers /progress, async /predict and socket subscribe with 503 + Retry-After promptly, and recovers", async () => {
    const redis = await startPrivateRedis();
    // The rate limit is on, so the limiter's Redis round trip is part of every POST /predict.
    const stack = await startStack({ workers: 1, kind: "hang", env: { REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: "1000" } });
    const worker = stack.workers[0]!;
    const socket = io(stack.base, { transports: ["websocket"], reconnection: false, forceNew: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      // Jobs accepted before the hang, still in the (frozen) worker's hands when Redis stops answering.
      worker.child.kill("SIGSTOP");
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push(await stack.submitOk(SETOSA_FORM));
      redis.hang();
      worker.child.kill("SIGCONT");

      const progress = await timed(() => fetch(`${stack.base}/progress?jobid=${ids[0]}`, { signal: AbortSignal.timeout(GIVE_UP_MS) }));
      const submit = await timed(() =>
        fetch(`${stack.base}/predict`, { method: "POST", headers: ASYNC_JSON, body: SETOSA_JSON, signal: AbortSignal.timeout(GIVE_UP_MS) }),
      );
      const subscribe = await timed(() => socket.timeout(GIVE_UP_MS).emitWithAck("subscribe", { jobid: ids[1] }) as Promise<Ack>);
      const sync = await timed(() =>
        fetch(`${stack.base}/predict`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: SETOSA_JSON,
          signal: AbortSignal.timeout(GIVE_UP_MS),
        }),
      );
      for (const [what, r] of [["/progress", progress], ["async POST /predict", submit]] as const) {
        assert.equal(r.value.status, 503, `${what} answers 503`);
        assert.ok(Number(r.value.headers.get("retry-after")) > 0, `${what} carries Retry-After`);
        assert.ok(r.ms < BOUND_MS, `${what} answered in ${r.ms} ms`);
      }
      assert.equal(subscribe.value.ok, false);
      assert.equal((subscribe.value as { status: number }).status, 503, "subscribe is acknowledged with 503");
      assert.ok(subscribe.ms < BOUND_MS, `subscribe answered in ${subscribe.ms} ms`);
      // A synchronous predict needs no Redis: the limiter falls back to this process's own count.
      assert.equal(sync.value.status, 200, "a synchronous predict still works");
      assert.ok(sync.ms < BOUND_MS, `sync predict answered in ${sync.ms} ms`);

      redis.resume();
      assert.deepEqual(await stack.waitAllFinal(ids, 30_000), { SUCCESS: ids.length }, "jobs accepted before the hang succeed");
      const after = await waitFor(
        async () => {
          const res = await fetch(`${stack.base}/predict`, { method: "POST", headers: ASYNC_JSON, body: SETOSA_JSON });
          return res.status === 202 ? ((await res.json()) as { prediction_id: string }).prediction_id : null;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: "async submissions to be accepted again" },
      );
      assert.deepEqual(await socket.timeout(5000).emitWithAck("subscribe", { jobid: after }), { ok: true });
      assert.deepEqual(await stack.waitAllFinal([after]), { SUCCESS: 1 });
      console.log(
        `# redis hang: /progress 503 in ${progress.ms} ms, async predict 503 in ${submit.ms} ms, ` +
          `subscribe 503 in ${subscribe.ms} ms, sync predict 200 in ${sync.ms} ms; ${ids.length}/${ids.length} held jobs succeeded`,
      );
    } finally {
      socket.close();
      redis.resume();
      worker.child.kill("SIGCONT");
      await stack.stop();
      await redis.close();
    }
  });
});
