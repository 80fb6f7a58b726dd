import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ReportStoreError, ReportStoreUnavailableError } from "./errors.js";
import { reportFileName, type ReportStore } from "./types.js";

/** How long each kind of call may take before the store counts as away (ms). */
export interface S3Deadlines {
  /** HeadBucket (readiness, the outage hold's ping). */
  ping: number;
  /** A read, until the object's headers arrive (then the body streams under the socket's idle timeout). */
  read: number;
  /** An upload: this much, plus a second per MiB. */
  write: number;
}

const DEADLINES: S3Deadlines = { ping: 1500, read: 3000, write: 10_000 };

/** S3's smallest part (every part but the last); lib-storage sends a body up to this size as one PutObject. */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Reports as objects `PREFIX + iris-report-<id>.pdf` in `bucket`, through a client made by create.ts. */
export function createS3ReportStore(opts: {
  client: S3Client;
  bucket: string;
  /** Key prefix, "" or ending in "/". */
  prefix: string;
  /** Bodies larger than this go up in parts of this size (multipart upload, 2 parts at a time). */
  partSize?: number;
  deadlines?: Partial<S3Deadlines>;
}): ReportStore {
  const { client, bucket, prefix } = opts;
  const partSize = Math.max(opts.partSize ?? MIN_PART_SIZE, MIN_PART_SIZE);
  const deadlines = { ...DEADLINES, ...opts.deadlines };
  const key = (name: string) => prefix + name;

  /** Runs one call under a deadline; an outage becomes ReportStoreUnavailableError, a refusal ReportStoreError. */
  async function call<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ms);
    try {
      return await work(abort.signal);
    } catch (err) {
      throw classify(err);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    name: `s3://${bucket}/${prefix}`,
    async put(jobid, pdf) {
      const name = reportFileName(jobid);
      const params = { Bucket: bucket, Key: key(name), Body: pdf, ContentType: "application/pdf" };
      await call(deadlines.write + (pdf.length >> 20) * 1000, async (abortSignal) => {
        if (pdf.length <= partSize) {
          // One request; Content-MD5 lets the server refuse a body damaged on the way.
          const md5 = createHash("md5").update(pdf).digest("base64");
          await client.send(new PutObjectCommand({ ...params, ContentLength: pdf.length, ContentMD5: md5 }), { abortSignal });
          return;
        }
        // In parts: an object appears only when the upload completes, so a reader never sees part
        // of it; a failed upload is aborted (its parts deleted) by lib-storage.
        const abortController = new AbortController();
        abortSignal.addEventListener("abort", () => abortController.abort(), { once: true });
        await new Upload({ client, params, partSize, queueSize: 2, abortController }).done();
      });
      return name;
    },
    async size(name) {
      try {
        const head = await call(deadlines.read, (abortSignal) =>
          client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(name) }), { abortSignal }),
        );
        return head.ContentLength ?? 0;
      } catch (err) {
        if (err instanceof ReportStoreError && noSuchKey(err.cause)) return null;
        throw err;
      }
    },
    async open(name) {
      try {
        const got = await call(deadlines.read, (abortSignal) =>
          client.send(new GetObjectCommand({ Bucket: bucket, Key: key(name) }), { abortSignal }),
        );
        // In Node.js the SDK's body is the HTTP response itself (an IncomingMessage).
        return { size: got.ContentLength ?? 0, body: got.Body as Readable };
      } catch (err) {
        if (err instanceof ReportStoreError && noSuchKey(err.cause)) return null;
        throw err;
      }
    },
    async remove(name) {
      // Deleting a key that is not there succeeds in S3.
      await call(deadlines.write, (abortSignal) =>
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(name) }), { abortSignal }),
      );
    },
    async sweep(maxAgeMs, now = Date.now()) {
      const old = (d: Date | undefined) => d !== undefined && now - d.getTime() > maxAgeMs;
      let removed = 0;
      let token: string | undefined;
      do {
        const page = await call(deadlines.read, (abortSignal) =>
          client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), {
            abortSignal,
          }),
        );
        const expired = (page.Contents ?? []).filter(
          (o) => o.Key && /^iris-report-[^/]*\.pdf$/.test(o.Key.slice(prefix.length)) && old(o.LastModified),
        );
        if (expired.length > 0) {
          const done = await call(deadlines.write, (abortSignal) =>
            client.send(
              new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: expired.map((o) => ({ Key: o.Key! })), Quiet: true } }),
              { abortSignal },
            ),
          );
          removed += expired.length - (done.Errors?.length ?? 0);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      // A worker killed during a multipart upload leaves its parts behind (invisible, but stored).
      const uploads = await call(deadlines.read, (abortSignal) =>
        client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }), { abortSignal }),
      );
      for (const u of uploads.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !old(u.Initiated)) continue;
        await call(deadlines.write, (abortSignal) =>
          client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }), { abortSignal }),
        );
      }
      return removed;
    },
    async ping() {
      try {
        await call(deadlines.ping, (abortSignal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }));
      } catch (err) {
        // A HEAD has no body, so a missing bucket is a bare 404.
        if (err instanceof ReportStoreError && noSuchKey(err.cause)) throw new ReportStoreUnavailableError("bucket missing");
        throw err;
      }
    },
    async close() {
      client.destroy();
    },
  };
}

type SdkError = { name?: string; $metadata?: { httpStatusCode?: number } } | null;

const noSuchKey = (err: unknown) => {
  const e = err as SdkError;
  return e?.name === "NoSuchKey" || e?.name === "NotFound" || e?.$metadata?.httpStatusCode === 404;
};

/**
 * An answer-less failure (refused, reset, timed out, aborted by our deadline), a 5xx, a 429
 * (SlowDown), or a missing bucket is an outage; any other answer (403, 400…) is a refusal.
 */
export function classify(err: unknown): Error {
  if (err instanceof ReportStoreUnavailableError || err instanceof ReportStoreError) return err;
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  if (e?.name === "NoSuchBucket") return new ReportStoreUnavailableError("bucket missing");
  if (status === undefined || status >= 500 || status === 429) {
    if (e?.name === "CredentialsProviderError") return new ReportStoreError("no credentials for the report store", { cause: err });
    return new ReportStoreUnavailableError("unreachable");
  }
  const answer = `${e?.name ?? "error"} (${status})`;
  return new ReportStoreError(`the report store refused: ${answer}`, { cause: err, answer });
}
