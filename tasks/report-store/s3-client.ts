import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { TaskConfig } from "../config.js";

/**
 * The S3 client for REPORT_STORE=s3://…: endpoint and region from the config, credentials from the
 * SDK's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles) unless
 * `overrides` gives them (tests).
 */
export function createS3Client(
  config: Pick<TaskConfig, "AWS_ENDPOINT_URL_S3" | "AWS_ENDPOINT_URL" | "AWS_REGION">,
  overrides: Partial<S3ClientConfig> = {},
): S3Client {
  const endpoint = config.AWS_ENDPOINT_URL_S3 ?? config.AWS_ENDPOINT_URL;
  return new S3Client({
    region: config.AWS_REGION,
    // A custom endpoint (MinIO, RGW, R2) is addressed path-style: http://host/bucket/key, no
    // per-bucket DNS name needed.
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: Ceph RGW (Pacific) and other S3-compatible stores do
    // not understand the SDK's default aws-chunked trailing checksums (MissingContentLength).
    // Single-part uploads carry Content-MD5 instead (s3.ts).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // A refused connection fails at once; a black-holed one after 2 s; a silent peer after 30 s
    // idle (long enough for a slow client reading a large report). Each call has its own deadline too.
    requestHandler: { connectionTimeout: 2000, socketTimeout: 30_000 },
    ...overrides,
  });
}
