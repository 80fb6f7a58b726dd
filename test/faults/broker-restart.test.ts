// (b) Stop the RabbitMQ app mid-run: submissions answer 503 + Retry-After promptly; after it
// starts again the same web and worker processes recover by themselves and every accepted job succeeds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rabbitmqctl, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

interface Attempt {
  at: number;
  ms: number;
  status: number;
  retryAfter: string | null;
  jobid?: string;
}

describe("fault: RabbitMQ stops and starts again mid-run", () => {
  it("answers 503 promptly while it is away and loses no accepted job", async () => {
    const stack = await startStack({ workers: 2 });
    let submitting = true;
    const attempts: Attempt[] = [];
    const submitter = (async () => {
      while (submitting) {
        const started = Date.now();
        const res = await stack.submit().catch(() => null);
        const attempt: Attempt = {
          at: started,
          ms: Date.now() - started,
          status: res?.status ?? 0,
          retryAfter: res?.headers.get("retry-after") ?? null,
        };
        if (res?.status === 303) attempt.jobid = res.headers.get("location")!.split("/").pop()!;
        attempts.push(attempt);
        await new Promise((r) => setTimeout(r, 10)); // pacing of the load, not synchronisation
      }
    })();
    try {
      await waitFor(() => attempts.filter((a) => a.status === 303).length >= 30, { what: "jobs before the outage" });
      await rabbitmqctl("stop_app");
      const stoppedAt = Date.now();
      await waitFor(() => attempts.filter((a) => a.at > stoppedAt && a.status === 503).length >= 10, {
        timeoutMs: 15_000,
        what: "503s during the outage",
      });
      await rabbitmqctl("start_app");
      const startedAt = Date.now();
      const recovered = await waitFor(() => attempts.find((a) => a.at > startedAt && a.status === 303), {
        timeoutMs: 60_000,
        what: "submissions to be accepted again",
      });
      const recoveryMs = recovered.at + recovered.ms - startedAt;
      await waitFor(() => attempts.filter((a) => a.at > recovered.at && a.status === 303).length >= 20, {
        timeoutMs: 30_000,
        what: "jobs after recovery",
      });
      submitting = false;
      await submitter;

      const outage = attempts.filter((a) => a.at > stoppedAt && a.at < startedAt);
      const refused = outage.filter((a) => a.status !== 303);
      assert.ok(refused.length > 0);
      for (const a of refused) {
        assert.equal(a.status, 503, `during the outage a submission answered ${a.status}`);
        assert.ok(Number(a.retryAfter) > 0, "503 carries Retry-After");
        assert.ok(a.ms < 1000, `a refusal took ${a.ms} ms`);
      }
      assert.ok(attempts.every((a) => a.status === 303 || a.status === 503), "only 303 or 503, never 500 or a hang");
      const accepted = attempts.filter((a) => a.jobid).map((a) => a.jobid!);
      const counts = await stack.waitAllFinal(accepted, 90_000);
      assert.deepEqual(counts, { SUCCESS: accepted.length }, "every accepted job succeeded");
      const pdfs = new Set(stack.pdfs());
      for (const id of accepted) assert.ok(pdfs.has(`iris-report-${id}.pdf`), `accepted job ${id} has its PDF`);
      const slowest503 = Math.max(...refused.map((a) => a.ms));
      console.log(
        `# broker restart: submitted ${attempts.length}, accepted ${accepted.length}, succeeded ${counts.SUCCESS}, ` +
          `lost 0, refused 503 ${refused.length} (slowest ${slowest503} ms), recovery ${recoveryMs} ms after start_app`,
      );
    } finally {
      submitting = false;
      await submitter;
      await rabbitmqctl("start_app").catch(() => {});
      const codes = await stack.stop();
      assert.deepEqual(codes, [0, 0, 0], "web and workers still exit cleanly");
    }
  });
});
