// A broker that stalls is not a broker that is gone. RabbitMQ on a busy host pauses now and then
// (a benchmark run with 4 workers on 2 cores saw confirms held ~1.7 s: 34 of 2,000 submissions
// got 503 at the web's former 800 ms deadline, for jobs the broker then took). A stall shorter than
// the confirm deadline must end in 202 and a finished job; a hang longer than it in a bounded 503,
// after which the same processes accept and finish jobs again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as stallLasts } from "node:timers/promises";
import { CONFIRM_TIMEOUT_MS } from "../../tasks/queue/rabbitmq.js";
import { realServices } from "../helpers/services.js";
import { startStack } from "../helpers/stack.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

/** How long the short stall lasts (the fault itself, not a synchronisation): well inside the deadline. */
const STALL_MS = 1200;

describe("fault: the path to RabbitMQ stalls (bytes held both ways, connections open)", () => {
  it("answers 202 through a short stall, a bounded 503 through a long one, and recovers", async () => {
    const rabbit = new URL(realServices().rabbitUrl);
    const proxy = await startTcpProxy({ host: rabbit.hostname, port: Number(rabbit.port) });
    const proxied = new URL(rabbit);
    proxied.port = String(proxy.port);
    const stack = await startStack({ workers: 1, kind: "broker-stall", env: { RABBITMQ_URL: proxied.toString() } });
    const submit = async () => {
      const started = Date.now();
      const res = await fetch(`${stack.base}/predict`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Async-Mode": "true" },
        body: JSON.stringify({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } }),
      });
      const body = (await res.json()) as { prediction_id?: string; error?: string };
      return { status: res.status, ms: Date.now() - started, body, retryAfter: res.headers.get("retry-after") };
    };
    const finished = (id: string) =>
      waitFor(
        async () => {
          const res = await fetch(`${stack.base}/predict/${id}`);
          const job = (await res.json()) as { state?: string };
          return job.state === "SUCCESS" || job.state === "FAILURE" ? job.state : null;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: `job ${id} to finish` },
      );
    try {
      const first = await submit();
      assert.equal(first.status, 202);
      assert.equal(await finished(first.body.prediction_id!), "SUCCESS");

      // A short stall: the submission waits it out and is accepted.
      proxy.pause();
      const during = submit();
      await stallLasts(STALL_MS);
      proxy.resume();
      const waited = await during;
      assert.equal(waited.status, 202, `a ${STALL_MS} ms stall answered ${waited.status}: ${JSON.stringify(waited.body)}`);
      assert.ok(waited.ms >= STALL_MS - 50, `answered after ${waited.ms} ms, before the stall ended`);
      assert.equal(await finished(waited.body.prediction_id!), "SUCCESS");

      // A hang past the deadline: 503 with Retry-After, bounded by the deadline.
      proxy.pause();
      const refused = await submit();
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.retryAfter) > 0);
      assert.match(String(refused.body.error), /queue/i);
      assert.ok(refused.ms >= CONFIRM_TIMEOUT_MS - 50, `503 after ${refused.ms} ms`);
      assert.ok(refused.ms < CONFIRM_TIMEOUT_MS + 1500, `503 after ${refused.ms} ms`);
      const line = await waitFor(() => stack.web.logs().find((l) => l.msg === "request" && l.status === 503), {
        what: "the web to log why it answered 503",
      });
      assert.equal(line.error, "QueueUnavailableError");
      assert.equal(line.level, "warn");
      proxy.resume();

      // The same processes accept and finish jobs again.
      const after = await waitFor(
        async () => {
          const r = await submit();
          return r.status === 202 ? r : null;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: "submissions to be accepted again" },
      );
      assert.equal(await finished(after.body.prediction_id!), "SUCCESS");
    } finally {
      proxy.resume();
      await stack.stop();
      await proxy.close();
    }
  });
});
