// The ReportStore contract on both implementations: a directory, and a real S3 server (Ceph RGW,
// started privately for this file), plus what only S3 has: multipart, readiness, outages, refusals.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DeleteBucketCommand, DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReportStoreError, ReportStoreUnavailableError } from "../../tasks/report-store/errors.js";
import { createFileReportStore } from "../../tasks/report-store/file.js";
import { createS3ReportStore } from "../../tasks/report-store/s3.js";
import { s3Client, startS3Server, type S3Server } from "../helpers/s3-server.js";
import { describeReportStore, fakePdf } from "./report-store.contract.js";

describeReportStore("file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-report-store-"));
  return {
    store: createFileReportStore(dir),
    extra: {
      put: async (name) => writeFileSync(join(dir, name), "x"),
      exists: async (name) => existsSync(join(dir, name)),
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

let s3: S3Server;
before(async () => {
  const started = performance.now();
  s3 = await startS3Server();
  console.log(`# RGW up in ${Math.round(performance.now() - started)} ms`);
});
after(() => s3?.close());

/** Empties and deletes a test bucket. */
async function dropBucket(bucket: string): Promise<void> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
  if (keys.length) await s3.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  await s3.client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

describeReportStore("s3 (Ceph RGW)", async () => {
  const bucket = await s3.newBucket("contract");
  const prefix = "reports/";
  const exists = (key: string) =>
    s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
  return {
    store: createS3ReportStore({ client: s3Client(s3.env), bucket, prefix }),
    extra: {
      put: async (name) => void (await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + name, Body: "x" }))),
      exists: (name) => exists(prefix + name),
    },
    cleanup: () => dropBucket(bucket),
  };
});

describe("ReportStore on S3: what a directory does not have", () => {
  let bucket: string;
  before(async () => {
    bucket = await s3.newBucket("s3-only");
  });
  after(() => dropBucket(bucket));

  it("a report larger than a part goes up in parts (multipart upload), a smaller one in one request", async () => {
    const store = createS3ReportStore({ client: s3Client(s3.env), bucket, prefix: "p/" });
    const big = await store.put(randomUUID(), fakePdf(12 * 1024 * 1024, 5));
    const small = await store.put(randomUUID(), fakePdf(860_000, 6)); // a 10,000-row batch report's size
    const etag = async (name: string) => (await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `p/${name}` }))).ETag ?? "";
    // A multipart object's ETag is "<md5 of the parts' md5s>-<number of parts>".
    assert.match(await etag(big), /-3"?$/, "12 MiB in three 5 MiB parts");
    assert.doesNotMatch(await etag(small), /-\d+"?$/, "one PutObject");
    await store.close();
  });

  it("ping answers when the bucket exists, and says 'bucket missing' when it does not", async () => {
    const ok = createS3ReportStore({ client: s3Client(s3.env), bucket, prefix: "" });
    await ok.ping!();
    const missing = createS3ReportStore({ client: s3Client(s3.env), bucket: "no-such-bucket-here", prefix: "" });
    await assert.rejects(missing.ping!(), (err) => err instanceof ReportStoreUnavailableError && err.reason === "bucket missing");
    await assert.rejects(
      missing.put(randomUUID(), fakePdf(100)),
      (err) => err instanceof ReportStoreUnavailableError && err.reason === "bucket missing",
      "an upload into a missing bucket is an outage (held), not the job's fault",
    );
    await Promise.all([ok.close(), missing.close()]);
  });

  it("wrong credentials are a refusal (the attempt fails), not an outage", async () => {
    const store = createS3ReportStore({
      client: s3Client(s3.env, { credentials: { accessKeyId: "nobody", secretAccessKey: "wrong-secret-0000000000" } }),
      bucket,
      prefix: "",
    });
    await assert.rejects(store.put(randomUUID(), fakePdf(100)), (err) => err instanceof ReportStoreError);
    // Readiness asks with ping: a refusal there too, so /readyz can say so rather than "unreachable".
    await assert.rejects(
      store.ping!(),
      (err) => err instanceof ReportStoreError && err.answer !== undefined && /\(4\d\d\)$/.test(err.answer),
    );
    await store.close();
  });

  it("with the gateway stopped every call fails promptly as an outage, and works again once it is back", async () => {
    const store = createS3ReportStore({ client: s3Client(s3.env), bucket, prefix: "" });
    const kept = await store.put(randomUUID(), fakePdf(2000, 7));
    await s3.stopGateway();
    try {
      for (const [what, call] of [
        ["ping", () => store.ping!()],
        ["put", () => store.put(randomUUID(), fakePdf(100))],
        ["open", () => store.open(kept)],
        ["size", () => store.size(kept)],
        ["sweep", () => store.sweep(1000)],
      ] as const) {
        const started = performance.now();
        await assert.rejects(call(), (err) => err instanceof ReportStoreUnavailableError && err.reason === "unreachable", what);
        assert.ok(performance.now() - started < 5000, `${what} fails within 5 s`);
      }
    } finally {
      await s3.startGateway();
    }
    await store.ping!();
    assert.equal(await store.size(kept), 2000, "the data survived the gateway's restart");
    await store.close();
  });
});
