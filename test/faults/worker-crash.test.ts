// (a) 300 jobs, 3 workers, kill -9 one mid-run → all SUCCESS, exactly one PDF per job.
// (g) 4 workers share 400 jobs, each doing some.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sampleValue } from "../helpers/prom-text.js";
import { testRedis } from "../helpers/services.js";
import { startStack, succeededBy } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

/** How many of the namespace's job hashes hold `state`, read from Redis itself. */
async function jobsInState(ns: string, state: string): Promise<number> {
  const redis = testRedis();
  try {
    let n = 0;
    for await (const keys of redis.scanStream({ match: `${ns}:job:*`, count: 500 })) {
      for (const k of keys as string[]) if ((await redis.hget(k, "state")) === state) n++;
    }
    return n;
  } finally {
    await redis.quit();
  }
}

describe("fault: a worker killed with SIGKILL mid-run", () => {
  it("loses no job and duplicates none (300 jobs, 3 workers)", async () => {
    const stack = await startStack({ workers: 0, env: { WORKER_CONCURRENCY: "2" } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) ids.push(await stack.submitOk());
      const [victim] = await Promise.all([stack.addWorker(), stack.addWorker(), stack.addWorker()]);
      await waitFor(() => succeededBy(victim!).length >= 15, { timeoutMs: 30_000, what: "victim to work" });
      victim!.child.kill("SIGKILL");
      await victim!.exited;
      const doneAtKill = stack.pdfs().length;
      assert.ok(doneAtKill < 300, `the kill happened mid-run (${doneAtKill} done)`);

      const counts = await stack.waitAllFinal(ids, 90_000);
      assert.deepEqual(counts, { SUCCESS: 300 });
      const pdfs = stack.pdfs();
      assert.equal(pdfs.length, 300, "exactly one PDF per job");
      for (const id of ids) assert.ok(pdfs.includes(`iris-report-${id}.pdf`));
      const survivors = stack.workers.filter((w) => w !== victim);
      const done = survivors.flatMap(succeededBy).concat(succeededBy(victim!));
      // Success lines name each job once at most (a killed process may not have written its last lines).
      assert.equal(new Set(done).size, done.length, "no job succeeded twice");

      // The counter is written with the final state, so the kill can neither lose nor double a
      // count: /metrics equals what Redis holds. The deadline only covers a scrape in flight.
      const inRedis = await jobsInState(stack.ns, "SUCCESS");
      assert.equal(inRedis, 300);
      let counted: number | undefined;
      let text = "";
      await waitFor(
        async () => {
          text = await (await fetch(`${stack.base}/metrics`)).text();
          counted = sampleValue(text, "iris_jobs_succeeded_total");
          return counted === inRedis;
        },
        { timeoutMs: 5000, what: "iris_jobs_succeeded_total to equal the SUCCESS jobs" },
      ).catch((err: Error) => assert.fail(`${err.message}: counter ${counted}, SUCCESS in Redis ${inRedis}`));
      console.log(
        `# kill -9: submitted 300, succeeded ${counts.SUCCESS}, lost 0, PDFs ${pdfs.length}, done at kill ${doneAtKill}, ` +
          `iris_jobs_succeeded_total ${counted} vs ${inRedis} SUCCESS in Redis ` +
          `(duration histogram, batched: _count ${sampleValue(text, "iris_job_duration_seconds_count")})`,
      );
    } finally {
      await stack.stop();
    }
  });

  it("shares 400 jobs over 4 workers, each doing some", async () => {
    const stack = await startStack({ workers: 0, env: { WORKER_CONCURRENCY: "1" } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 400; i++) ids.push(await stack.submitOk());
      await Promise.all([1, 2, 3, 4].map(() => stack.addWorker()));
      const counts = await stack.waitAllFinal(ids, 90_000);
      assert.deepEqual(counts, { SUCCESS: 400 });
      const perWorker = stack.workers.map((w) => succeededBy(w).length);
      assert.ok(perWorker.every((n) => n > 0), `every worker did some: ${perWorker}`);
      assert.equal(perWorker.reduce((a, b) => a + b, 0), 400, `no job done twice: ${perWorker}`);
      assert.equal(stack.pdfs().length, 400);
      console.log(`# 4 workers: per-worker jobs ${perWorker.join(", ")}`);
    } finally {
      const codes = await stack.stop();
      assert.deepEqual(codes, [0, 0, 0, 0, 0]);
    }
  });
});
