// The S3 report store away (its gateway stopped) while a worker has jobs: /readyz names the report
// store, the worker holds the jobs without spending attempts or failing them, and every job succeeds
// once the store is back (item 1 of issue 15: an unreachable store is an outage, not the job's fault).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as outageLasts } from "node:timers/promises";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { deadLettered, testRedis } from "../helpers/services.js";
import { startS3Server, type S3Server } from "../helpers/s3-server.js";
import { SETOSA_FORM, startStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * How long the store stays away once the worker holds its jobs. Not a synchronisation: it is the
 * fault itself, longer than a worker without the hold needs to burn all 3 attempts of a job (each
 * failed upload gives up within a second or two, and the broker redelivers at once).
 */
const OUTAGE_MS = 8000;

describe("fault: the S3 report store stopped while a worker holds jobs", () => {
  let s3: S3Server;
  let stack: Stack;
  let bucket: string;
  before(async () => {
    s3 = await startS3Server();
    bucket = await s3.newBucket("outage");
    stack = await startStack({
      workers: 1,
      kind: "s3-outage",
      env: { ...s3.env, REPORT_STORE: `s3://${bucket}/`, JOB_MAX_ATTEMPTS: "3", WORKER_CONCURRENCY: "4" },
    });
  });
  after(async () => {
    await stack?.stop();
    await s3?.close();
  });

  it("/readyz names the report store, jobs are held (no attempt spent, no FAILURE) and all succeed once it is back", async () => {
    const worker = stack.workers[0]!;
    await s3.stopGateway();
    const ids: string[] = [];
    try {
      const notReady = await waitFor(
        async () => {
          const res = await fetch(`${stack.base}/readyz`);
          return res.status === 503 ? ((await res.json()) as { error: string; checks: Record<string, string> }) : null;
        },
        { timeoutMs: 10_000, what: "/readyz 503" },
      );
      assert.equal(notReady.error, "Not ready: the report store is not reachable.");
      assert.deepEqual(notReady.checks, { rabbitmq: "ok", redis: "ok", report_store: "unreachable" });

      for (let i = 0; i < 12; i++) ids.push(await stack.submitOk(SETOSA_FORM));
      await waitFor(() => worker.logs().some((l) => l.msg === "report store unavailable; holding jobs until it answers"), {
        timeoutMs: 15_000,
        what: "the worker to hold its jobs",
      });
      await outageLasts(OUTAGE_MS);
      const during = await Promise.all(ids.map((id) => stack.progress(id)));
      assert.ok(
        during.every((p) => p.body.state === "PENDING" || p.body.state === "PROGRESS"),
        `no job ended during the outage: ${during.map((p) => p.body.state).join(",")}`,
      );
    } finally {
      await s3.startGateway();
    }

    const counts = await stack.waitAllFinal(ids, 45_000);
    assert.deepEqual(counts, { SUCCESS: ids.length }, "every accepted job succeeds, none fails");
    const redis = testRedis();
    try {
      const attempts = await Promise.all(ids.map((id) => redis.hget(`${stack.ns}:job:${id}`, "attempts")));
      assert.deepEqual(new Set(attempts), new Set(["1"]), "the outage spent no attempt: each job ran as its first");
    } finally {
      redis.disconnect();
    }
    assert.equal(await deadLettered(`${stack.ns}.jobs`), 0, "nothing was dead-lettered");
    const logs = worker.logs();
    assert.ok(!logs.some((l) => l.msg === "job attempt failed; requeueing"), "no attempt was counted as the job's fault");
    assert.ok(logs.some((l) => l.msg === "report store answers again; resuming held jobs"), "the worker said it resumed");
    for (const id of ids) {
      await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `iris-report-${id}.pdf` })); // throws when missing
    }
    await waitFor(async () => (await fetch(`${stack.base}/readyz`)).status === 200, { timeoutMs: 10_000, what: "/readyz 200 again" });
    const res = await fetch(`${stack.base}/result?jobid=${ids[0]}`);
    assert.equal(res.status, 200);
    assert.ok((await res.arrayBuffer()).byteLength > 1000);
    console.log(`# report store outage ${OUTAGE_MS} ms: ${ids.length} jobs held, ${ids.length} succeeded on their first attempt`);
  });
});
