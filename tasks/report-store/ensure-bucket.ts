import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { ReportStoreError, ReportStoreUnavailableError } from "./errors.js";
import { classify } from "./s3.js";

/** What `ensureBucket` found: the bucket was made now, or was already there. */
export interface EnsureBucketResult {
  result: "created" | "exists";
  /** Tries it took (1: the store answered at once). */
  attempts: number;
}

/** How `ensureBucket` waits for a store that is not reachable yet (a gateway still starting). */
export interface EnsureBucketOptions {
  /** Give up after this long (ms) without an answer. */
  timeoutMs?: number;
  /** First pause between tries (ms); it doubles up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Each call's own deadline (ms). */
  callTimeoutMs?: number;
  /** Called after each try the store did not answer. */
  onRetry?: (err: ReportStoreUnavailableError, attempt: number) => void;
}

/**
 * Makes sure `bucket` exists: HeadBucket, and CreateBucket when it is missing (idempotent: an
 * existing bucket, or one another process created meanwhile, is success). While the store does
 * not answer (refused, timed out, 5xx) it tries again with a backoff until `timeoutMs`, then
 * throws the ReportStoreUnavailableError; a refusal (bad credentials, the name owned by another
 * account) throws a ReportStoreError at once.
 */
export async function ensureBucket(
  client: S3Client,
  bucket: string,
  opts: EnsureBucketOptions = {},
): Promise<EnsureBucketResult> {
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  const callMs = opts.callTimeoutMs ?? 5000;
  const max = opts.maxDelayMs ?? 2000;
  let delay = opts.minDelayMs ?? 250;
  const call = async <T>(send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await send(AbortSignal.timeout(callMs));
    } catch (err) {
      throw classifyCreate(err);
    }
  };
  for (let attempt = 1; ; attempt++) {
    try {
      try {
        await call((abortSignal) => client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }));
        return { result: "exists", attempts: attempt };
      } catch (err) {
        if (!(err instanceof ReportStoreUnavailableError && err.reason === "bucket missing")) throw err;
      }
      try {
        await call((abortSignal) => client.send(new CreateBucketCommand({ Bucket: bucket }), { abortSignal }));
        return { result: "created", attempts: attempt };
      } catch (err) {
        // Created by someone else between the two calls (another run of this command).
        if (err instanceof ReportStoreError && (err.cause as { name?: string })?.name === "BucketAlreadyOwnedByYou") {
          return { result: "exists", attempts: attempt };
        }
        throw err;
      }
    } catch (err) {
      if (!(err instanceof ReportStoreUnavailableError) || err.reason === "bucket missing") throw err;
      if (Date.now() + delay >= end) throw err;
      opts.onRetry?.(err, attempt);
      await sleep(delay);
      delay = Math.min(delay * 2, max);
    }
  }
}

/** s3.ts's classification, plus the answers of a HeadBucket (a bare 404) and of a name taken by another account. */
function classifyCreate(err: unknown): Error {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (e?.name === "NotFound" || (e?.$metadata?.httpStatusCode === 404 && e?.name !== "NoSuchBucket")) {
    return new ReportStoreUnavailableError("bucket missing");
  }
  if (e?.name === "BucketAlreadyExists") {
    return new ReportStoreError("the bucket name is taken by another account: choose another in REPORT_STORE", { cause: err });
  }
  return classify(err);
}
