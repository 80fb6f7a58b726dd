// Reports in object storage, end to end: web and worker processes with REPORT_STORE=s3://… on a
// private Ceph RGW (item 1 of issue 15): the PDF reaches the bucket before SUCCESS, /result streams
// it with the usual headers (GET and HEAD), a 10,000-row batch goes through, nothing is written to
// a local directory, a missing bucket keeps /readyz at 503 naming it, and retention deletes objects.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { freePort, startProcess } from "../helpers/processes.js";
import { realServices, uniqueName } from "../helpers/services.js";
import { startS3Server, type S3Server } from "../helpers/s3-server.js";
import { SETOSA_FORM, startStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

let s3: S3Server;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3?.close());

/** The object's bytes, or null when there is none. */
async function object(bucket: string, key: string): Promise<Buffer | null> {
  try {
    const got = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return null;
    throw err;
  }
}

/** Follows /progress until the job is final; returns its body. */
async function finished(stack: Stack, jobid: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const { body } = await stack.progress(jobid);
      return ["SUCCESS", "FAILURE", "REVOKED"].includes(body.state as string) ? body : null;
    },
    { timeoutMs, intervalMs: 50, what: `job ${jobid} to finish` },
  );
}

describe("REPORT_STORE=s3://…: web and worker on a real S3 server", () => {
  let stack: Stack;
  let bucket: string;
  before(async () => {
    bucket = await s3.newBucket("e2e");
    stack = await startStack({ workers: 1, kind: "s3", env: { ...s3.env, REPORT_STORE: `s3://${bucket}/reports` } });
  });
  after(() => stack?.stop());

  it("a job reaches SUCCESS with its PDF in the bucket, and /result streams it with the usual headers", async () => {
    const jobid = await stack.submitOk(SETOSA_FORM);
    const done = await finished(stack, jobid);
    assert.equal(done.state, "SUCCESS");
    const stored = await object(bucket, `reports/iris-report-${jobid}.pdf`);
    assert.ok(stored, "the report is in the bucket under the prefix");

    const res = await fetch(`${stack.base}/result?jobid=${jobid}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/pdf");
    assert.equal(res.headers.get("content-length"), String(stored.length));
    assert.equal(res.headers.get("content-disposition"), `attachment; filename="iris-report-${jobid}.pdf"`);
    assert.equal(res.headers.get("cache-control"), "private, max-age=3600");
    const pdf = Buffer.from(await res.arrayBuffer());
    assert.ok(pdf.equals(stored), "the bytes served are the object's");
    const file = join(mkdtempSync(join(tmpdir(), "iris-s3-pdf-")), "r.pdf");
    writeFileSync(file, pdf);
    execFileSync("qpdf", ["--check", file]);
    assert.match(execFileSync("pdftotext", [file, "-"]).toString(), /setosa/i);

    const inline = await fetch(`${stack.base}/result?jobid=${jobid}&inline=1`);
    assert.equal(inline.headers.get("content-disposition"), `inline; filename="iris-report-${jobid}.pdf"`);
    await inline.arrayBuffer();

    const head = await fetch(`${stack.base}/result?jobid=${jobid}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "application/pdf");
    assert.equal(head.headers.get("content-length"), String(stored.length));
    assert.equal(head.headers.get("content-disposition"), `attachment; filename="iris-report-${jobid}.pdf"`);
    assert.equal((await head.arrayBuffer()).byteLength, 0, "HEAD has no body");

    assert.deepEqual(readdirSync(stack.resultsDir), [], "no PDF was written to a local directory");
    const ready = await fetch(`${stack.base}/readyz`);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { rabbitmq: "ok", redis: "ok", report_store: "ok" });
  });

  it("a 10,000-row batch report is stored and streamed whole", async () => {
    const inputs = Array.from({ length: 10_000 }, (_, i) => ({
      sepal_length: 4.5 + (i % 30) / 10,
      sepal_width: 2 + (i % 20) / 10,
      petal_length: 1 + (i % 55) / 10,
      petal_width: 0.1 + (i % 24) / 10,
    }));
    const res = await fetch(`${stack.base}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Async-Mode": "true" },
      body: JSON.stringify({ inputs }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { prediction_id: jobid } = (await res.json()) as { prediction_id: string };
    assert.equal((await finished(stack, jobid, 90_000)).state, "SUCCESS");
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `reports/iris-report-${jobid}.pdf` }));
    const got = await fetch(`${stack.base}/result?jobid=${jobid}`);
    assert.equal(got.headers.get("content-length"), String(head.ContentLength));
    const pdf = Buffer.from(await got.arrayBuffer());
    assert.equal(pdf.length, head.ContentLength);
    console.log(`# 10,000-row batch report: ${pdf.length} bytes through S3`);
    assert.deepEqual(readdirSync(stack.resultsDir), []);
  });
});

describe("REPORT_STORE=s3://… with the bucket missing", () => {
  it("/readyz is 503 naming the report store's bucket, and ready by itself once the bucket exists", async () => {
    const bucket = uniqueName("late").toLowerCase();
    const { redisUrl, rabbitUrl } = realServices();
    const port = await freePort();
    const web = await startProcess(
      "app/main.ts",
      {
        ...s3.env,
        RABBITMQ_URL: rabbitUrl,
        REDIS_URL: redisUrl,
        IRIS_NAMESPACE: uniqueName("late"),
        REPORT_STORE: `s3://${bucket}/r`,
        HOST: "127.0.0.1",
        PORT: String(port),
      },
      { readyMsg: "web listening" },
    );
    try {
      const notReady = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/readyz`);
          const body = (await res.json()) as { error?: string; checks: Record<string, string> };
          const others = body.checks.rabbitmq === "ok" && body.checks.redis === "ok";
          return res.status === 503 && others && body.checks.report_store === "bucket missing" ? body : null;
        },
        { timeoutMs: 10_000, what: "/readyz 503 naming the missing bucket" },
      );
      assert.deepEqual(notReady.checks, { rabbitmq: "ok", redis: "ok", report_store: "bucket missing" });
      assert.equal(notReady.error, `Not ready: the report store's bucket (s3://${bucket}/r/) does not exist.`);
      await s3.client.send(new CreateBucketCommand({ Bucket: bucket }));
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        timeoutMs: 10_000,
        what: "/readyz 200 once the bucket exists",
      });
      await waitFor(() => web.logs().some((l) => l.msg === "web ready"), { timeoutMs: 10_000, what: "web ready" });
    } finally {
      await web.stop();
    }
  });
});

describe("retention with REPORT_STORE=s3://…", () => {
  it("deletes a job's object once its TTL has passed (the worker's sweep), and the job answers 410", async () => {
    const bucket = await s3.newBucket("ttl");
    const stack = await startStack({
      workers: 1,
      kind: "s3-ttl",
      env: { ...s3.env, REPORT_STORE: `s3://${bucket}/`, RESULT_TTL_SECONDS: "2" },
    });
    try {
      const jobid = await stack.submitOk(SETOSA_FORM);
      assert.equal((await finished(stack, jobid)).state, "SUCCESS");
      const key = `iris-report-${jobid}.pdf`;
      assert.ok(await object(bucket, key), "stored first");
      await waitFor(async () => (await object(bucket, key)) === null, { timeoutMs: 20_000, intervalMs: 200, what: "the object swept" });
      const res = await fetch(`${stack.base}/result?jobid=${jobid}`);
      assert.equal(res.status, 410, "the job has expired with its report");
      assert.ok(stack.workers[0]!.logs().some((l) => l.msg === "swept expired reports"), "the worker's sweep removed it");
    } finally {
      await stack.stop();
    }
  });
});
