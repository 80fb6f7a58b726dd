// Structured logs, read from the processes' own output: JSON lines, one per request and one per
// job stage with the job id (stages at debug, one line per job at info), LOG_LEVEL honoured, and
// no secret in any line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { freePort, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";
import { compiledEntry } from "../helpers/entry.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REDIS_PASSWORD = "s3cret-redis-pw-7d41";
const API_TOKEN = "tok-never-logged-93fa";
const setosa = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

describe("logs: JSON lines per request and per job stage, LOG_LEVEL, no secrets", () => {
  const ns = uniqueName("logs");
  let env: Record<string, string>;
  let base = "";
  let web: ServiceProcess;
  let worker: ServiceProcess;
  let jobid = "";

  before(async () => {
    const { redisUrl, rabbitUrl } = realServices();
    // Redis without requirepass accepts (and ignores) a password: it stands in for a real secret.
    const redisWithPassword = new URL(redisUrl);
    redisWithPassword.password = REDIS_PASSWORD;
    const port = await freePort();
    env = {
      RABBITMQ_URL: rabbitUrl,
      REDIS_URL: redisWithPassword.toString(),
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-logs-")),
      PORT: String(port),
      HOST: "127.0.0.1",
      API_TOKENS: API_TOKEN,
      DASHBOARD: "on",
    };
    web = await startProcess("app/main.ts", { ...env, LOG_LEVEL: "debug" }, { readyMsg: "web ready" });
    // Stages log at debug (issue 16: one line per job at info).
    worker = await startProcess("tasks/main.ts", { ...env, LOG_LEVEL: "debug" }, { readyMsg: "worker ready" });
    base = `http://127.0.0.1:${port}`;

    // Traffic that would leak secrets if anything logged URLs, queries or headers.
    const res = await fetch(`${base}/predict`, {
      method: "POST",
      headers: { "X-Api-Token": API_TOKEN },
      body: new URLSearchParams(setosa),
      redirect: "manual",
    });
    jobid = res.headers.get("location")!.split("/").pop()!;
    await waitFor(async () => {
      const body = (await (await fetch(`${base}/progress?jobid=${jobid}`)).json()) as { state: string };
      return body.state === "SUCCESS";
    });
    await fetch(`${base}/dashboard?token=${API_TOKEN}`, { redirect: "manual" });
    await fetch(`${base}/dashboard/data`, { headers: { "X-Api-Token": API_TOKEN } });
    await fetch(`${base}/dashboard/data`, { headers: { Cookie: `iris_dashboard_token=${API_TOKEN}` } });
    await fetch(`${base}/healthz`);
    await waitFor(() => web.logs().some((l) => l.path === "/healthz"), { what: "the last request's log line" });
  });

  after(async () => {
    const codes = await Promise.all([web.stop(), worker.stop()]);
    await deleteQueues(`${ns}.jobs`);
    assert.deepEqual(codes, [0, 0]);
  });

  it("every line either process wrote is one JSON object with level, time and msg", () => {
    for (const p of [web, worker]) {
      assert.ok(p.lines.length > 3);
      for (const line of p.lines) {
        const obj = JSON.parse(line) as Record<string, unknown>;
        assert.equal(typeof obj.level, "string", line);
        assert.ok(!Number.isNaN(Date.parse(String(obj.time))), line);
        assert.equal(typeof obj.msg, "string", line);
      }
    }
  });

  it("one line per request: method, path (no query string), status, duration", () => {
    const requests = web.logs().filter((l) => l.msg === "request");
    const post = requests.find((l) => l.method === "POST" && l.path === "/predict");
    assert.ok(post, "the submission is logged");
    assert.equal(post.status, 303);
    assert.equal(typeof post.ms, "number");
    const progress = requests.filter((l) => l.path === "/progress");
    assert.ok(progress.length >= 1);
    assert.ok(
      requests.every((l) => !String(l.path).includes("?")),
      "query strings are not logged",
    );
    const health = requests.find((l) => l.path === "/healthz");
    assert.equal(health?.level, "debug", "probes log at debug, shown because LOG_LEVEL=debug");
    assert.equal(post.level, "info");
  });

  it("one line per job stage, each naming the job", () => {
    const mine = worker.logs().filter((l) => l.jobId === jobid);
    const stages = mine.filter((l) => l.msg === "job stage").map((l) => l.stage);
    assert.deepEqual(stages, ["validating", "classifying", "rendering", "saving"]);
    const done = mine.find((l) => l.msg === "job succeeded");
    assert.equal(done?.stage, "done");
    assert.equal(typeof done?.ms, "number");
  });

  it("one line per job at info, its end; the stages at debug", () => {
    const mine = worker.logs().filter((l) => l.jobId === jobid);
    assert.deepEqual(
      mine.filter((l) => l.level === "info").map((l) => l.msg),
      ["job succeeded"],
    );
    assert.ok(mine.filter((l) => l.msg === "job stage").every((l) => l.level === "debug"));
  });

  it("status reads, polled many times a job, log at debug like probes", () => {
    const reads = web.logs().filter((l) => l.msg === "request" && l.path === "/progress");
    assert.ok(reads.length >= 1);
    assert.ok(
      reads.every((l) => l.level === "debug"),
      JSON.stringify(reads),
    );
  });

  it("no secret appears in any line: broker credentials, Redis password, API token", () => {
    const all = [...web.lines, ...worker.lines].join("\n");
    assert.ok(!all.includes(REDIS_PASSWORD), "Redis password");
    assert.ok(!all.includes(API_TOKEN), "API token");
    assert.ok(!all.includes("guest:guest"), "broker user:password");
  });

  it("LOG_LEVEL=warn: a busy web process writes no info or debug line", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [compiledEntry("app/main.ts")], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      const quiet = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${quiet}/healthz`)).ok, { timeoutMs: 20_000, what: "quiet web up" });
      await fetch(`${quiet}/`);
      await fetch(`${quiet}/predict`, { method: "POST", body: new URLSearchParams(setosa), redirect: "manual" });
      await fetch(`${quiet}/no-such-page`);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
    const levels = output
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { level: string }).level);
    assert.deepEqual(
      levels.filter((l) => l === "info" || l === "debug"),
      [],
      `no info/debug lines, got:\n${output}`,
    );
  });
});
