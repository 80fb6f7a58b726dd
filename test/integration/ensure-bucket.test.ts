// The bucket command the compose file's s3 profile runs (node dist/tasks/ensure-bucket.js), as a
// process against a private Ceph RGW: a missing bucket is created, an existing one is fine, a
// store that appears late is waited for, one that never answers gives up within its bound, and a
// refusal or a bad setting stops it at once, each with one JSON line saying why.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { ensureBucket } from "../../tasks/report-store/ensure-bucket.js";
import { ReportStoreError } from "../../tasks/report-store/errors.js";
import { compiledEntry } from "../helpers/entry.js";
import { freePort } from "../helpers/processes.js";
import { uniqueName } from "../helpers/services.js";
import { waitFor } from "../helpers/wait-for.js";
import { startS3Server, type S3Server } from "../helpers/s3-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Run {
  code: number | null;
  ms: number;
  lines: Array<Record<string, unknown>>;
  output: string;
}

/** Runs the compiled entry on a clean environment (no profile files, no instance metadata) plus `env`. */
function ensureBucketProcess(env: Record<string, string>, args: string[] = []): Promise<Run> & { output(): string } {
  const started = Date.now();
  let output = "";
  const running = new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, [compiledEntry("tasks/ensure-bucket.ts"), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: mkdtempSync(join(tmpdir(), "iris-ensure-bucket-")),
        AWS_EC2_METADATA_DISABLED: "true",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`ensure-bucket did not exit:\n${output}`));
    }, 90_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const lines = output
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, ms: Date.now() - started, lines, output });
    });
  });
  /** What it has written so far. */
  return Object.assign(running, { output: () => output });
}

let s3: S3Server;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3?.close());

const exists = async (bucket: string) =>
  s3.client.send(new HeadBucketCommand({ Bucket: bucket })).then(
    () => true,
    (err: { name?: string }) => {
      if (err.name === "NotFound") return false;
      throw err;
    },
  );

describe("ensure-bucket (the s3 profile's bucket command) on a real S3 server", () => {
  it("creates a missing bucket, then finds it there: exit 0 both times, one JSON line each", async () => {
    const bucket = uniqueName("eb").toLowerCase();
    assert.equal(await exists(bucket), false);
    const env = { ...s3.env, REPORT_STORE: `s3://${bucket}/reports` };
    const first = await ensureBucketProcess(env);
    assert.equal(first.code, 0, first.output);
    assert.equal(await exists(bucket), true);
    assert.equal(first.lines.length, 1, first.output);
    assert.deepEqual(
      { service: first.lines[0]!.service, level: first.lines[0]!.level, bucket: first.lines[0]!.bucket, result: first.lines[0]!.result },
      { service: "ensure-bucket", level: "info", bucket, result: "created" },
    );
    assert.equal(first.lines[0]!.msg, `bucket ${bucket} created`);
    assert.equal(first.lines[0]!.endpoint, s3.env.AWS_ENDPOINT_URL_S3);

    const again = await ensureBucketProcess(env);
    assert.equal(again.code, 0, again.output);
    assert.equal(again.lines[0]!.result, "exists");
    assert.equal(again.lines[0]!.msg, `bucket ${bucket} already exists`);
  });

  it("waits for a store that is not there yet, and creates the bucket once it answers", async () => {
    const bucket = uniqueName("eb-late").toLowerCase();
    await s3.stopGateway();
    let run: ReturnType<typeof ensureBucketProcess>;
    try {
      run = ensureBucketProcess({ ...s3.env, REPORT_STORE: `s3://${bucket}/`, LOG_LEVEL: "debug" }, ["--wait-seconds=60"]);
      // The gateway comes back only once the command has found it away and is waiting.
      await waitFor(() => run.output().includes("report store not answering yet"), { timeoutMs: 30_000, what: "a retry" });
    } finally {
      await s3.startGateway();
    }
    const late = await run;
    assert.equal(late.code, 0, late.output);
    const done = late.lines.at(-1)!;
    assert.equal(done.result, "created");
    assert.ok((done.attempts as number) > 1, `attempts ${String(done.attempts)}`);
    assert.ok(late.lines.some((l) => l.msg === "report store not answering yet"), "its retries are logged at debug");
    assert.equal(await exists(bucket), true);
  });

  it("gives up on a store that never answers after --wait-seconds, with exit 1 and a sentence", async () => {
    const port = await freePort();
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`, REPORT_STORE: "s3://nowhere/", LOG_LEVEL: "debug" };
    const run = await ensureBucketProcess(env, ["--wait-seconds=3"]);
    assert.equal(run.code, 1, run.output);
    const retries = run.lines.filter((l) => l.msg === "report store not answering yet").length;
    assert.ok(retries >= 2, `${retries} retries logged`);
    assert.ok(run.ms < 15_000, `${run.ms} ms: the wait is bounded`);
    const last = run.lines.at(-1)!;
    assert.equal(last.level, "fatal");
    assert.equal(
      last.msg,
      `the report store at http://127.0.0.1:${port} did not answer within 3 s: bucket nowhere not created (s3://nowhere/)`,
    );
  });

  it("stops at once when the store refuses the credentials", async () => {
    const env = { ...s3.env, AWS_SECRET_ACCESS_KEY: "not-the-secret-0000", REPORT_STORE: `s3://${uniqueName("eb").toLowerCase()}/` };
    const run = await ensureBucketProcess(env, ["--wait-seconds=30"]);
    assert.equal(run.code, 1, run.output);
    assert.ok(run.ms < 15_000, `${run.ms} ms: a refusal is not retried`);
    assert.match(String(run.lines.at(-1)!.msg), /the report store refused: \w+ \(403\)/);
  });

  it("names the variables when there are no credentials at all", async () => {
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = s3.env;
    const run = await ensureBucketProcess({ ...rest, REPORT_STORE: "s3://no-credentials/" });
    assert.equal(run.code, 1, run.output);
    assert.equal(
      run.lines.at(-1)!.msg,
      `no credentials for the report store at ${s3.env.AWS_ENDPOINT_URL_S3}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    );
  });

  it("refuses REPORT_STORE=file and bad settings with exit 2", async () => {
    const file = await ensureBucketProcess({ ...s3.env });
    assert.equal(file.code, 2, file.output);
    assert.match(String(file.lines.at(-1)!.msg), /^REPORT_STORE is file: set REPORT_STORE=s3:\/\/BUCKET\/PREFIX/);
    const bad = await ensureBucketProcess({ ...s3.env, REPORT_STORE: "s3://No_Such/" });
    assert.equal(bad.code, 2, bad.output);
    assert.match(bad.output, /^Invalid configuration:\n {2}REPORT_STORE: must be file or s3:\/\/BUCKET\/PREFIX/m);
    const usage = await ensureBucketProcess({ ...s3.env, REPORT_STORE: "s3://x-y-z/" }, ["--wait-seconds=soon"]);
    assert.equal(usage.code, 2, usage.output);
    assert.match(String(usage.lines.at(-1)!.msg), /^usage: ensure-bucket \[--wait-seconds=N\]/);
  });
});

describe("ensureBucket", () => {
  it("counts a bucket created by someone else between its HeadBucket and its CreateBucket as there", async () => {
    const sent: string[] = [];
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        if (command.constructor.name === "HeadBucketCommand") {
          throw Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } });
        }
        throw Object.assign(new Error("BucketAlreadyOwnedByYou"), { name: "BucketAlreadyOwnedByYou", $metadata: { httpStatusCode: 409 } });
      },
    } as unknown as S3Client;
    assert.deepEqual(await ensureBucket(client, "raced"), { result: "exists", attempts: 1 });
    assert.deepEqual(sent, ["HeadBucketCommand", "CreateBucketCommand"]);
  });

  it("stops at once on a bucket it may not see (403: another account's, or no permission)", async () => {
    let calls = 0;
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        calls++;
        if (command.constructor.name === "HeadBucketCommand") {
          throw Object.assign(new Error("Forbidden"), { name: "Forbidden", $metadata: { httpStatusCode: 403 } });
        }
        throw new Error("not reached");
      },
    } as unknown as S3Client;
    await assert.rejects(ensureBucket(client, "theirs"), ReportStoreError);
    assert.equal(calls, 1);
  });
});
