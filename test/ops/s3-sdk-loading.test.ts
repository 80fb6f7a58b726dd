// The AWS SDK (about 10 MB of memory a process once loaded) is loaded only by a process whose
// REPORT_STORE is s3://…: a web or worker keeping reports in files never loads it. Checked in the
// running entries: a preloaded module reports, as the process exits, which modules it had loaded.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";

/**
 * Prints one JSON line at exit: how many loaded CommonJS modules (the SDK's packages are
 * CommonJS, loaded through require's cache even when imported) come from @aws-sdk or @smithy.
 */
const PROBE = `
import { createRequire } from "node:module";
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  const aws = Object.keys(cache).filter((f) => ["@aws-sdk", "@smithy"].some((p) => f.includes("/node_modules/" + p + "/"))).length;
  const all = Object.keys(cache).length;
  process.stderr.write(JSON.stringify({ msg: "loaded modules", aws, all }) + "\\n");
});
`;

describe("the S3 SDK is loaded only with REPORT_STORE=s3://…", () => {
  const ns = uniqueName("lazy-s3");
  let env: Record<string, string>;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "iris-lazy-s3-"));
    const probe = join(dir, "probe.mjs");
    writeFileSync(probe, PROBE);
    const { redisUrl, rabbitUrl } = realServices();
    env = {
      RABBITMQ_URL: rabbitUrl,
      REDIS_URL: redisUrl,
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: join(dir, "results"),
      HOST: "127.0.0.1",
      NODE_OPTIONS: `--import=${probe}`,
    };
  });

  after(() => deleteQueues(`${ns}.jobs`));

  /** Starts `entry`, waits for `readyMsg`, stops it; the probe's count of @aws-sdk modules. */
  async function awsModules(entry: string, extra: Record<string, string>, readyMsg: string): Promise<number> {
    const p = await startProcess(entry, { ...env, PORT: String(await freePort()), ...extra }, { readyMsg });
    await p.stop();
    const line = p.logs().find((l) => l.msg === "loaded modules");
    assert.ok(line, `no probe line from ${entry}:\n${p.lines.slice(-10).join("\n")}`);
    assert.ok(Number(line.all) > 0, "the probe saw no module at all");
    return Number(line.aws);
  }

  it("a web and a worker with file reports, ready on RabbitMQ and Redis, load none of it", async () => {
    assert.equal(await awsModules("app/main.ts", {}, "web ready"), 0);
    assert.equal(await awsModules("tasks/main.ts", {}, "worker ready"), 0);
  });

  it("with REPORT_STORE=s3://… they load it (the probe sees it when it is there)", async () => {
    // A gateway that refuses: the process loads the SDK, then waits for the store, which is enough.
    const s3 = {
      REPORT_STORE: "s3://reports/iris",
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test-secret",
    };
    assert.ok((await awsModules("app/main.ts", s3, "web listening")) > 0);
    assert.ok((await awsModules("tasks/main.ts", s3, "not ready: waiting for the report store")) > 0);
  });
});
