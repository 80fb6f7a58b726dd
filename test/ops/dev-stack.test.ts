// scripts/dev-stack.sh: up with 2 workers on private ports, a job over HTTP, down; only what it
// started goes away (its own Redis on a private port), what it found (the suite's RabbitMQ) stays.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { freePort, portAnswers } from "../helpers/processes.js";
import { sampleValue } from "../helpers/prom-text.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs scripts/dev-stack.sh with `args`; resolves with its exit code and output. */
function devStack(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["scripts/dev-stack.sh", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** True while `pid` runs (an exited process its new parent has not reaped yet counts as gone). */
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
};

describe("scripts/dev-stack.sh up --workers 2 / status / down", () => {
  const dir = mkdtempSync(join(tmpdir(), "iris-devstack-"));
  const ns = uniqueName("dev");
  let env: Record<string, string>;
  let base = "";
  let redisPort = 0;
  let rabbitPort = 0;
  let pids: number[] = [];

  before(async () => {
    rabbitPort = Number(new URL(realServices().rabbitUrl).port);
    redisPort = await freePort(); // nothing there: the stack starts its own Redis
    const webPort = await freePort();
    env = {
      DEV_STACK_DIR: dir,
      PORT: String(webPort),
      REDIS_PORT: String(redisPort),
      RABBITMQ_PORT: String(rabbitPort),
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: join(dir, "results"),
      LOG_LEVEL: "info",
    };
    base = `http://127.0.0.1:${webPort}`;
  });

  after(async () => {
    await devStack(["down"], env); // idempotent: cleans up if a test failed half-way
    await deleteQueues(`${ns}.jobs`);
  });

  it("up starts a Redis on its private port, the web and two workers, with pid and log files", async () => {
    const { code, output } = await devStack(["up", "--workers", "2"], env);
    assert.equal(code, 0, output);
    for (const name of ["web", "worker-1", "worker-2"]) {
      assert.ok(existsSync(join(dir, `${name}.pid`)), `${name}.pid`);
      assert.ok(existsSync(join(dir, "logs", `${name}.log`)), `${name}.log`);
    }
    pids = ["web", "worker-1", "worker-2"].map((n) => Number(readFileSync(join(dir, `${n}.pid`), "utf8")));
    assert.ok(pids.every(running));
    assert.ok(existsSync(join(dir, "services", "redis.started")), "the stack started Redis");
    assert.ok(!existsSync(join(dir, "services", "rabbitmq.started")), "it found RabbitMQ already answering");
    assert.ok(await portAnswers(redisPort));
  });

  it("status names what runs and shows readiness", async () => {
    const { code, output } = await devStack(["status"], env);
    assert.equal(code, 0, output);
    assert.match(output, /web: running/);
    assert.match(output, /worker-1: running/);
    assert.match(output, /worker-2: running/);
    assert.match(output, /readyz: 200/);
  });

  it("a job submitted over HTTP succeeds, with both workers attached as consumers", async () => {
    const res = await fetch(`${base}/predict`, {
      method: "POST",
      body: new URLSearchParams({ sepal_length: "6.0", sepal_width: "2.9", petal_length: "4.5", petal_width: "1.5" }),
      redirect: "manual",
    });
    assert.equal(res.status, 303);
    const jobid = res.headers.get("location")!.split("/").pop()!;
    const done = await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/progress?jobid=${jobid}`)).json()) as {
          state: string;
          result?: string;
        };
        return body.state === "SUCCESS" ? body : null;
      },
      { timeoutMs: 20_000, what: "the job to succeed" },
    );
    assert.equal(done.result, "versicolor");
    assert.equal(sampleValue(await (await fetch(`${base}/metrics`)).text(), "iris_queue_consumers"), 2);
  });

  it("down stops the processes and the Redis it started, and leaves RabbitMQ it did not start", async () => {
    const { code, output } = await devStack(["down"], env);
    assert.equal(code, 0, output);
    assert.deepEqual(pids.filter(running), [], "no process left");
    await waitFor(async () => !(await portAnswers(redisPort)), { timeoutMs: 10_000, what: "its Redis to stop" });
    assert.ok(await portAnswers(rabbitPort), "the RabbitMQ it found still answers");
    assert.ok(!existsSync(join(dir, "web.pid")));
    const status = await devStack(["status"], env);
    assert.equal(status.code, 3);
    assert.match(status.output, /not running/);
  });
});
