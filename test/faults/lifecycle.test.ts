// (f) SIGTERM to a busy worker → exit 0, nothing lost.
// (h) MAX_QUEUE_DEPTH reached with no worker → 503 + Retry-After.
// (i) Retention: after the TTL, 410 and the PDF gone.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startStack, succeededBy } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

describe("lifecycle: shutdown, admission control, retention", () => {
  it("a busy worker stops on SIGTERM with exit 0 and loses nothing", async () => {
    const stack = await startStack({ workers: 0, env: { WORKER_CONCURRENCY: "4" } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push(await stack.submitOk());
      const busy = await stack.addWorker();
      await waitFor(() => succeededBy(busy).length >= 10, { what: "the worker to be busy" });
      const code = await busy.stop("SIGTERM");
      assert.equal(code, 0);
      const doneByFirst = succeededBy(busy).length;
      assert.ok(doneByFirst < 200, "it was stopped mid-run");
      assert.ok(busy.logs().some((l) => l.msg === "shutdown complete"));
      await stack.addWorker();
      assert.deepEqual(await stack.waitAllFinal(ids), { SUCCESS: 200 });
      assert.equal(stack.pdfs().length, 200);
      console.log(`# SIGTERM: first worker did ${doneByFirst}, exit 0; submitted 200, succeeded 200, lost 0`);
    } finally {
      await stack.stop();
    }
  });

  it("answers 503 with Retry-After once MAX_QUEUE_DEPTH jobs wait and no worker takes them", async () => {
    const stack = await startStack({ workers: 0, env: { MAX_QUEUE_DEPTH: "5" } });
    try {
      const accepted: string[] = [];
      for (let i = 0; i < 5; i++) accepted.push(await stack.submitOk());
      const started = Date.now();
      const res = await stack.submit();
      assert.equal(res.status, 503);
      assert.ok(Date.now() - started < 1000);
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      assert.match(await res.text(), /Too many jobs are waiting/);
      await stack.addWorker();
      assert.deepEqual(await stack.waitAllFinal(accepted), { SUCCESS: 5 });
      await stack.submitOk(); // room again
    } finally {
      await stack.stop();
    }
  });

  it("after RESULT_TTL_SECONDS a job answers 410 and its PDF is swept", async () => {
    const stack = await startStack({ workers: 1, env: { RESULT_TTL_SECONDS: "2" } });
    try {
      const id = await stack.submitOk();
      assert.deepEqual(await stack.waitAllFinal([id]), { SUCCESS: 1 });
      const pdf = join(stack.resultsDir, `iris-report-${id}.pdf`);
      assert.ok(existsSync(pdf));
      await waitFor(async () => (await stack.progress(id)).status === 410, { timeoutMs: 10_000, what: "410" });
      const gone = await fetch(`${stack.base}/result?jobid=${id}`);
      assert.equal(gone.status, 410);
      assert.match((await gone.json()).error, /expired/);
      assert.equal((await fetch(`${stack.base}/jobs/${id}`)).status, 410);
      await waitFor(() => !existsSync(pdf), { timeoutMs: 10_000, what: "the sweep to delete the PDF" });
    } finally {
      await stack.stop();
    }
  });
});
