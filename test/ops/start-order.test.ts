// Start in any order: web and worker start with RabbitMQ and Redis down, answer /healthz, say on
// /readyz and in their log what is missing, and become ready by themselves when it appears (no
// restart). A wrong password is a configuration fault: one JSON line naming it, exit code 2.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { io } from "socket.io-client";
import { compiledEntry, runtimeFlags } from "../helpers/entry.js";
import { startPrivateRedis, type PrivateRedis } from "../helpers/private-redis.js";
import { freePort, portAnswers, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";
import { SETOSA_FORM } from "../helpers/stack.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** RabbitMQ through a proxy the test can cut, and a Redis of the test's own it can stop: both down. */
async function downDependencies(kind: string) {
  const { rabbitUrl } = realServices();
  const rabbit = new URL(rabbitUrl);
  const proxy = await startTcpProxy({ host: rabbit.hostname, port: Number(rabbit.port) });
  const viaProxy = new URL(rabbitUrl);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const redis = await startPrivateRedis();
  await proxy.cut();
  await redis.stop();
  const ns = uniqueName(kind);
  const env: Record<string, string> = {
    RABBITMQ_URL: viaProxy.toString(),
    REDIS_URL: redis.url,
    IRIS_NAMESPACE: ns,
    RESULTS_DIR: mkdtempSync(join(tmpdir(), `iris-${kind}-`)),
    HOST: "127.0.0.1",
    // Debug shows each retry, so the test can tell "one line per state change" from "one per retry".
    LOG_LEVEL: "debug",
  };
  return { proxy, redis, ns, env };
}

const timed = async <T>(work: () => Promise<T>) => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

/** Lines at info or above (what an operator sees by default). */
const visible = (p: ServiceProcess) => p.logs().filter((l) => l.level !== "debug" && l.level !== "trace");

const exitCode = async (p: ServiceProcess) => Promise.race([p.exited, Promise.resolve("running" as const)]);

describe("start in any order: the web with RabbitMQ and Redis down", () => {
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let ns = "";
  let env: Record<string, string> = {};
  let base = "";
  const procs: ServiceProcess[] = [];

  before(async () => {
    ({ proxy, redis, ns, env } = await downDependencies("start-web"));
    const port = await freePort();
    env.PORT = String(port);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    const codes = await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await proxy.close();
    await redis.close();
    await deleteQueues(`${ns}.jobs`);
    assert.ok(
      codes.every((c) => c === 0),
      `exit codes ${codes}`,
    );
  });

  it("listens at once, answers /healthz 200, /readyz 503 naming both, and requests 503 promptly", async () => {
    const { value: web, ms: startMs } = await timed(() =>
      startProcess("app/main.ts", env, { readyMsg: "web listening" }),
    );
    procs.push(web);
    assert.equal(web.logs().find((l) => l.msg === "web listening")!.port, Number(env.PORT));
    const health = await timed(() => fetch(`${base}/healthz`));
    assert.equal(health.value.status, 200);
    assert.ok(health.ms < 1000, `/healthz took ${health.ms} ms`);

    const ready = await timed(() => fetch(`${base}/readyz`));
    assert.equal(ready.value.status, 503);
    assert.ok(ready.ms < 3000, `/readyz took ${ready.ms} ms`);
    assert.ok(Number(ready.value.headers.get("retry-after")) > 0);
    const body = (await ready.value.json()) as { error: string; checks: unknown };
    assert.equal(body.error, "Not ready: RabbitMQ and Redis are not reachable.");
    assert.deepEqual(body.checks, { rabbitmq: "unreachable", redis: "unreachable" });

    const submit = await timed(() =>
      fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams(SETOSA_FORM), redirect: "manual" }),
    );
    assert.equal(submit.value.status, 503, await submit.value.text());
    assert.ok(Number(submit.value.headers.get("retry-after")) > 0, "Retry-After on the refused submission");
    assert.ok(submit.ms < 2000, `the refused submission took ${submit.ms} ms`);

    const progress = await timed(() => fetch(`${base}/progress?jobid=${randomUUID()}`));
    assert.equal(progress.value.status, 503, await progress.value.text());
    assert.ok(Number(progress.value.headers.get("retry-after")) > 0, "Retry-After on /progress");
    assert.ok(progress.ms < 3000, `/progress took ${progress.ms} ms (Redis commands time out after 1.5 s)`);
    console.log(
      `# web up with both down: listening after ${startMs} ms; /readyz ${ready.ms} ms; POST /predict 503 in ${submit.ms} ms; /progress 503 in ${progress.ms} ms`,
    );
  });

  it("logs what is missing once per change, not once per retry, and is not ready", async () => {
    const web = procs[0]!;
    // Several retries of each connection have happened (debug lines), yet one visible line each.
    await waitFor(() => web.logs().filter((l) => l.msg === "rabbitmq reconnect scheduled").length >= 3, {
      timeoutMs: 15_000,
      what: "3 RabbitMQ retries",
    });
    await waitFor(() => web.logs().filter((l) => l.level === "debug" && /redis/.test(String(l.msg))).length >= 3, {
      timeoutMs: 15_000,
      what: "3 Redis retries",
    });
    await waitFor(() => web.logs().some((l) => l.msg === "not ready: waiting for RabbitMQ and Redis"), {
      timeoutMs: 5000,
      what: "the web to say what it waits for",
    });
    const lines = visible(web);
    const missing = lines.filter((l) => l.msg === "not ready: waiting for RabbitMQ and Redis");
    assert.equal(missing.length, 1, JSON.stringify(lines, null, 1));
    assert.deepEqual(missing[0]!.missing, ["RabbitMQ", "Redis"]);
    // One warn line per connection (RabbitMQ; Redis commands and subscriptions) for going down.
    const rabbitWarns = lines.filter((l) => l.level === "warn" && /^rabbitmq /.test(String(l.msg)));
    assert.equal(rabbitWarns.length, 1, JSON.stringify(lines, null, 1));
    const redisWarns = lines.filter((l) => l.level === "warn" && /^redis /.test(String(l.msg)));
    assert.deepEqual(redisWarns.map((l) => l.redis).sort(), [`web-${web.child.pid}-cmd`, `web-${web.child.pid}-sub`]);
    assert.ok(!web.logs().some((l) => l.msg === "web ready"));
    assert.equal(await exitCode(web), "running");
  });

  it("becomes ready by itself once Redis and RabbitMQ appear, and a job succeeds end to end", async () => {
    const web = procs[0]!;
    await redis.start();
    await proxy.restore();
    const appeared = Date.now();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: "/readyz 200 after both appear",
    });
    const readyzMs = Date.now() - appeared;
    await waitFor(() => web.logs().some((l) => l.msg === "web ready"), { timeoutMs: 10_000, what: "web ready" });
    const readyLine = web.logs().find((l) => l.msg === "web ready")!;
    const readyMs = Date.parse(String(readyLine.time)) - appeared;
    assert.equal(readyLine.port, Number(env.PORT));

    const worker = await startProcess("tasks/main.ts", { ...env, REDIS_URL: redis.url }, { readyMsg: "worker ready" });
    procs.push(worker);
    // The change feed was subscribed although Redis was down at start: the socket sees SUCCESS.
    const socket = io(base, { transports: ["websocket"], reconnection: false, forceNew: true });
    try {
      const res = await fetch(`${base}/predict`, {
        method: "POST",
        body: new URLSearchParams(SETOSA_FORM),
        redirect: "manual",
      });
      assert.equal(res.status, 303, await res.text());
      const jobid = res.headers.get("location")!.split("/").pop()!;
      const states: string[] = [];
      socket.on("progress", (b: { state: string }) => states.push(b.state));
      const ack = await socket.timeout(5000).emitWithAck("subscribe", { jobid });
      assert.deepEqual(ack, { ok: true });
      await waitFor(() => states.includes("SUCCESS"), { timeoutMs: 30_000, what: "SUCCESS over socket.io" });
      assert.ok(states.length >= 2, `relayed changes, not only the first read: ${states}`);
    } finally {
      socket.close();
    }
    console.log(`# web: /readyz 200 ${readyzMs} ms after both appeared, "web ready" logged after ${readyMs} ms`);
  });
});

describe("start in any order: a worker with RabbitMQ and Redis down", () => {
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let ns = "";
  let env: Record<string, string> = {};
  const procs: ServiceProcess[] = [];

  before(async () => {
    ({ proxy, redis, ns, env } = await downDependencies("start-worker"));
  });

  after(async () => {
    const codes = await Promise.all(procs.map((p) => p.stop("SIGTERM")));
    await proxy.close();
    await redis.close();
    await deleteQueues(`${ns}.jobs`);
    assert.ok(
      codes.every((c) => c === 0),
      `exit codes ${codes}`,
    );
  });

  it("stays up and serves /healthz, is not ready until both are back, then processes a job", async () => {
    const healthPort = await freePort();
    const worker = await startProcess(
      "tasks/main.ts",
      { ...env, WORKER_HEALTH_PORT: String(healthPort) },
      { readyMsg: "worker health endpoint listening" },
    );
    procs.push(worker);
    assert.equal((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);
    await waitFor(() => worker.logs().filter((l) => l.msg === "rabbitmq reconnect scheduled").length >= 4, {
      timeoutMs: 20_000,
      what: "4 RabbitMQ retries",
    });
    assert.equal(await exitCode(worker), "running", "the worker waits instead of exiting");
    assert.ok(!worker.logs().some((l) => l.msg === "worker ready"));
    await waitFor(() => worker.logs().some((l) => l.msg === "not ready: waiting for RabbitMQ and Redis"), {
      timeoutMs: 5000,
      what: "the worker to say what it waits for",
    });
    assert.equal(visible(worker).filter((l) => l.msg === "not ready: waiting for RabbitMQ and Redis").length, 1);
    assert.equal((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status, 200);

    // RabbitMQ back, Redis still away: still not ready.
    await proxy.restore();
    await waitFor(() => worker.logs().some((l) => l.msg === "rabbitmq connected"), {
      timeoutMs: 20_000,
      what: "rabbitmq connected",
    });
    await waitFor(() => worker.logs().some((l) => l.msg === "not ready: waiting for Redis"), {
      timeoutMs: 5000,
      what: "the missing set to shrink to Redis",
    });
    assert.ok(!worker.logs().some((l) => l.msg === "worker ready"));

    await redis.start();
    const appeared = Date.now();
    await waitFor(() => worker.logs().some((l) => l.msg === "worker ready"), {
      timeoutMs: 20_000,
      what: "worker ready",
    });
    const readyMs = Date.parse(String(worker.logs().find((l) => l.msg === "worker ready")!.time)) - appeared;

    const port = await freePort();
    const web = await startProcess("app/main.ts", { ...env, PORT: String(port) }, { readyMsg: "web ready" });
    procs.push(web);
    const res = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: "POST",
      body: new URLSearchParams(SETOSA_FORM),
      redirect: "manual",
    });
    assert.equal(res.status, 303);
    const jobid = res.headers.get("location")!.split("/").pop()!;
    await waitFor(() => worker.logs().some((l) => l.msg === "job succeeded" && l.jobId === jobid), {
      timeoutMs: 30_000,
      what: "the worker to process the job",
    });
    console.log(`# worker: "worker ready" ${readyMs} ms after Redis (the last one) appeared`);
  });
});

/** Runs an entry until it exits (it must, within 20 s); resolves with its exit code and output. */
function runToExit(
  entry: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...runtimeFlags(entry), compiledEntry(entry)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not exit:\n${output}`));
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output, child });
    });
  });
}

/** Every line is one JSON object (no stack trace, no raw text), and the last one says `expect`. */
function assertOneFatalLine(output: string, expect: RegExp, secret: string): void {
  const lines = output.split("\n").filter(Boolean);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}\n${output}`);
  assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
  const fatal = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === "fatal");
  assert.equal(fatal.length, 1, output);
  assert.match(String(fatal[0]!.msg), expect);
  assert.ok(!output.includes(secret), "the wrong password is not echoed");
}

describe("start: a wrong password is a configuration fault (exit 2, one line naming it)", () => {
  const ns = uniqueName("start-auth");
  let redisUrl = "";
  let badRabbitUrl = "";
  const secret = "wrong-password-5b1c";

  before(() => {
    const services = realServices();
    redisUrl = services.redisUrl;
    const bad = new URL(services.rabbitUrl);
    bad.password = secret;
    badRabbitUrl = bad.toString();
  });

  for (const entry of ["app/main.ts", "tasks/main.ts"]) {
    it(`${entry}: RabbitMQ ACCESS_REFUSED → exit 2, one fatal JSON line`, async () => {
      const { code, output } = await runToExit(entry, {
        RABBITMQ_URL: badRabbitUrl,
        REDIS_URL: redisUrl,
        IRIS_NAMESPACE: ns,
        PORT: String(await freePort()),
        HOST: "127.0.0.1",
        RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-start-auth-")),
      });
      assert.equal(code, 2, output);
      assertOneFatalLine(output, /RabbitMQ refused the credentials in RABBITMQ_URL \(ACCESS_REFUSED\)/, secret);
    });
  }

  for (const entry of ["app/main.ts", "tasks/main.ts"]) {
    it(`${entry}: Redis WRONGPASS → exit 2, one fatal JSON line`, async () => {
      const port = await freePort();
      const server = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "right-pw"],
        {
          stdio: "ignore",
        },
      );
      try {
        await waitFor(async () => portAnswers(port), { timeoutMs: 10_000, what: "redis with requirepass" });
        const { code, output } = await runToExit(entry, {
          RABBITMQ_URL: realServices().rabbitUrl,
          REDIS_URL: `redis://:${secret}@127.0.0.1:${port}`,
          IRIS_NAMESPACE: ns,
          PORT: String(await freePort()),
          HOST: "127.0.0.1",
          RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-start-auth-")),
        });
        assert.equal(code, 2, output);
        assertOneFatalLine(output, /Redis refused the credentials in REDIS_URL \(WRONGPASS\)/, secret);
      } finally {
        server.kill("SIGKILL");
      }
    });
  }
});
