import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, type S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { createS3Client } from "../../tasks/report-store/s3-client.js";
import { uniqueName } from "./services.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts/s3-server.sh");

/**
 * A private S3 server (Ceph RGW, scripts/s3-server.sh) on free loopback ports, its state in a
 * directory of its own under .test-services/. The test may stop and start its gateway; `close`
 * stops every daemon it started and deletes the state. Never a store anyone else runs.
 */
export interface S3Server {
  /** AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION for the processes. */
  env: Record<string, string>;
  /** An S3 client as the service makes it (path-style, checksums when required). */
  client: S3Client;
  /** Creates a bucket no other test uses; returns its name. */
  newBucket(kind: string): Promise<string>;
  /** Stops the gateway (the S3 endpoint goes away; the data stays in the OSD). */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  close(): Promise<void>;
}

/** A client as the service makes it, on `env`'s endpoint and credentials (`overrides` may change them). */
export function s3Client(env: Record<string, string>, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return createS3Client(
    { AWS_ENDPOINT_URL_S3: env.AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL: undefined, AWS_REGION: env.AWS_REGION! },
    { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! }, ...overrides },
  );
}

/**
 * Starts the server. With `netns` every daemon runs inside that network namespace (the script
 * runs there, `ip netns exec`) and the gateway listens on `bindAddr`, the namespace's own address;
 * `parent` is where its state directory goes (default .test-services/).
 */
export async function startS3Server(opts: { netns?: string; bindAddr?: string; parent?: string } = {}): Promise<S3Server> {
  const parent = opts.parent ?? join(ROOT, ".test-services");
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "s3-"));
  const scriptEnv = { ...process.env, S3_STATE_DIR: dir, ...(opts.bindAddr ? { S3_BIND_ADDR: opts.bindAddr } : {}) };
  const script = (cmd: string) =>
    opts.netns
      ? run("ip", ["netns", "exec", opts.netns, "bash", SCRIPT, cmd], { env: scriptEnv, timeout: 120_000 })
      : run("bash", [SCRIPT, cmd], { env: scriptEnv, timeout: 120_000 });
  const { stdout } = await script("up");
  const env = Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
  // The test process's own client: credentials given, not read from this process's environment.
  const own = s3Client(env);
  return {
    env,
    client: own,
    async newBucket(kind) {
      const bucket = uniqueName(kind).toLowerCase();
      await own.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    stopGateway: async () => void (await script("gateway-stop")),
    startGateway: async () => void (await script("gateway-start")),
    async close() {
      own.destroy();
      await script("down");
    },
  };
}
