// One-shot entry (node dist/tasks/ensure-bucket.js [--wait-seconds=N]): creates the bucket of
// REPORT_STORE=s3://BUCKET/PREFIX when it is missing, with the configuration web and workers read
// (tasks/config.ts), waiting up to N seconds (default 60) for a store that is still starting.
// Logs one JSON line and exits 0 (created, or already there), 1 (the store did not answer in time,
// or refused) or 2 (a bad configuration). The compose file's s3 profile runs it once.
import { loadConfig } from "./config.js";
import { createLogger, exitFatal } from "./logger.js";
import { createS3Client } from "./report-store/s3-client.js";
import { ensureBucket } from "./report-store/ensure-bucket.js";
import { ReportStoreUnavailableError } from "./report-store/errors.js";

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
const logger = createLogger({ level: config.LOG_LEVEL, name: "ensure-bucket" });
const arg = process.argv.slice(2).find((a) => a.startsWith("--wait-seconds="));
const waitSeconds = arg === undefined ? 60 : Number(arg.slice("--wait-seconds=".length));
if (!Number.isFinite(waitSeconds) || waitSeconds < 0 || process.argv.length > (arg ? 3 : 2)) {
  exitFatal(logger, "usage: ensure-bucket [--wait-seconds=N] (N: seconds to wait for the store, default 60)");
}
const setting = config.REPORT_STORE;
if (setting.kind !== "s3") {
  exitFatal(logger, "REPORT_STORE is file: set REPORT_STORE=s3://BUCKET/PREFIX for a bucket to be created");
}
const store = `s3://${setting.bucket}/${setting.prefix}`;
const endpoint = config.AWS_ENDPOINT_URL_S3 ?? config.AWS_ENDPOINT_URL ?? "AWS S3";
const client = createS3Client(config);
const started = Date.now();
try {
  const { result, attempts } = await ensureBucket(client, setting.bucket, {
    timeoutMs: waitSeconds * 1000,
    onRetry: (err, attempt) => logger.debug({ attempt, reason: err.reason }, "report store not answering yet"),
  });
  logger.info(
    { bucket: setting.bucket, endpoint, result, attempts, ms: Date.now() - started },
    result === "created" ? `bucket ${setting.bucket} created` : `bucket ${setting.bucket} already exists`,
  );
  client.destroy();
  // Nothing else is left to run: the process ends once the line is written, with status 0.
} catch (err) {
  client.destroy();
  const why = (err as Error).message;
  exitFatal(
    logger,
    err instanceof ReportStoreUnavailableError
      ? `the report store at ${endpoint} did not answer within ${waitSeconds} s: bucket ${setting.bucket} not created (${store})`
      : why.startsWith("no credentials")
        ? `no credentials for the report store at ${endpoint}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`
        : `bucket ${setting.bucket} at ${endpoint}: ${why}`,
    1,
  );
}
