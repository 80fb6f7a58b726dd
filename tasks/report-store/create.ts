import type { S3Client } from "@aws-sdk/client-s3";
import type { TaskConfig } from "../config.js";
import { createFileReportStore } from "./file.js";
import type { ReportStore } from "./types.js";

type StoreConfig = Pick<TaskConfig, "REPORT_STORE" | "RESULTS_DIR" | "AWS_ENDPOINT_URL_S3" | "AWS_ENDPOINT_URL" | "AWS_REGION">;

/**
 * The report store REPORT_STORE names; `makeClient` lets a test pass its own S3 client. The AWS SDK
 * is loaded only for an s3:// store: it adds ~4–12 MB to every process that loads it, and most
 * deployments keep reports in files (BENCHMARKS.md, "The evening of 2026-12-02").
 */
export async function createReportStore(
  config: StoreConfig,
  deps: { makeClient?: (c: StoreConfig) => S3Client } = {},
): Promise<ReportStore> {
  const setting = config.REPORT_STORE;
  if (setting.kind === "file") return createFileReportStore(config.RESULTS_DIR);
  const [{ createS3Client }, { createS3ReportStore }] = await Promise.all([import("./s3-client.js"), import("./s3.js")]);
  const client = (deps.makeClient ?? createS3Client)(config);
  return createS3ReportStore({ client, bucket: setting.bucket, prefix: setting.prefix });
}
