// The compose stack run for real (scripts/test-compose.sh builds the image, starts the stack with
// 3 workers and runs this file): HTTP only through the published port, container faults through
// docker-compose and podman; then the same project again with the s3 profile (reports in a bucket,
// none on the results volume). Not a *.test.ts file: `npm test` has no stack to run it against.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

const BASE = env("IRIS_COMPOSE_URL");
const PROJECT = env("IRIS_COMPOSE_PROJECT");
const JOB_DEADLINE_MS = 240_000;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through scripts/test-compose.sh`);
  return value;
}

function run(cmd: string, args: string[], timeoutMs = 180_000, env?: Record<string, string>): string {
  const res = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
    env: env ? { ...process.env, ...env } : process.env,
  });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${res.status}\n${res.stderr}`);
  return res.stdout;
}
const dc = (...args: string[]) =>
  run("docker-compose", [
    "-p",
    PROJECT,
    "--env-file",
    env("IRIS_COMPOSE_ENV_FILE"),
    "-f",
    env("IRIS_COMPOSE_FILE"),
    ...args,
  ]);
/** docker-compose with `env` on top (compose prefers it to the env file) and its own time limit. */
const dcWith = (vars: Record<string, string>, timeoutMs: number, ...args: string[]) =>
  run(
    "docker-compose",
    ["-p", PROJECT, "--env-file", env("IRIS_COMPOSE_ENV_FILE"), "-f", env("IRIS_COMPOSE_FILE"), ...args],
    timeoutMs,
    vars,
  );
const podman = (...args: string[]) => run("podman", args);
/** For faults made mid-run: the event loop (and so the jobs' requests) goes on meanwhile. */
function runAsync(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { encoding: "utf8", timeout: 180_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}
const dcAsync = (...args: string[]) =>
  runAsync("docker-compose", [
    "-p",
    PROJECT,
    "--env-file",
    env("IRIS_COMPOSE_ENV_FILE"),
    "-f",
    env("IRIS_COMPOSE_FILE"),
    ...args,
  ]);

/** Names of the running containers of one compose service. */
function containers(service: string, all = false): string[] {
  const out = podman(
    "ps",
    ...(all ? ["-a"] : []),
    "--filter",
    `label=com.docker.compose.project=${PROJECT}`,
    "--filter",
    `label=com.docker.compose.service=${service}`,
    "--format",
    "{{.Names}}",
  );
  return out.split("\n").filter(Boolean).sort();
}

async function waitFor(what: string, ok: () => Promise<boolean> | boolean, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    try {
      if (await ok()) return;
    } catch {
      // not yet
    }
    await sleep(1000);
  }
  throw new Error(`${what}: not within ${limitMs / 1000} s`);
}

const healthy = (name: string) => podman("inspect", "--format", "{{.State.Health.Status}}", name).trim() === "healthy";
async function threeHealthyWorkers(): Promise<void> {
  await waitFor(
    "3 healthy workers",
    () => containers("worker").length === 3 && containers("worker").every(healthy),
    180_000,
  );
}

const SAMPLES = [
  { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  { sepal_length: 6.0, sepal_width: 2.9, petal_length: 4.5, petal_width: 1.5 },
  { sepal_length: 6.9, sepal_width: 3.1, petal_length: 5.7, petal_width: 2.2 },
];

/** POST /predict (JSON, async) until accepted; an Idempotency-Key makes each retry safe. */
async function submit(i: number, stats: Stats): Promise<string> {
  const key = randomUUID();
  const end = Date.now() + JOB_DEADLINE_MS;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${BASE}/predict`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Async-Mode": "true", "Idempotency-Key": key },
        body: JSON.stringify({ input: SAMPLES[i % SAMPLES.length] }),
        signal: AbortSignal.timeout(15_000),
      });
      if (res.status === 202) {
        const body = (await res.json()) as { prediction_id: string };
        return body.prediction_id;
      }
      await res.body?.cancel();
      // 503: a dependency is away; 409: an earlier try with this key still holds its claim (it
      // could not be released while Redis was away, so it lasts its 30 s): both mean "retry".
      assert.ok(res.status === 503 || res.status === 409, `POST /predict answered ${res.status}`);
      if (res.status === 409) stats.conflicts++;
      else stats.refused++;
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      stats.retried++;
    }
    await sleep(500);
  }
  throw new Error("POST /predict: never accepted");
}

/** Follows GET /predict/{id} to its terminal state, then checks the PDF. */
async function finish(id: string): Promise<"SUCCESS" | string> {
  const end = Date.now() + JOB_DEADLINE_MS;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${BASE}/predict/${id}`, {
        headers: { Prefer: "wait=10" },
        signal: AbortSignal.timeout(20_000),
      });
      if (res.status === 200) {
        const body = (await res.json()) as { state: string; error?: string };
        if (body.state !== "SUCCESS") return `${body.state}: ${body.error}`;
        await assertPdf(id);
        return "SUCCESS";
      }
      await res.body?.cancel();
      if (res.status === 404) return "404 (lost)";
    } catch {
      // the web or a dependency is restarting: ask again
    }
    await sleep(300);
  }
  return "not finished in time";
}

async function assertPdf(id: string): Promise<void> {
  const res = await fetch(`${BASE}/result?jobid=${id}`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(res.status, 200, `/result?jobid=${id}: ${res.status}`);
  assert.equal(res.headers.get("content-type"), "application/pdf");
  const pdf = Buffer.from(await res.arrayBuffer());
  assert.equal(pdf.subarray(0, 4).toString("latin1"), "%PDF", `${id}: not a PDF`);
}

interface Stats {
  accepted: number;
  succeeded: number;
  refused: number;
  conflicts: number;
  retried: number;
  other: Map<string, number>;
  inFlightAtFault?: number;
}

/** n jobs, 16 submissions at a time; `fault` runs once `faultAfter` of them have succeeded. */
async function batch(
  t: TestContext,
  n: number,
  fault?: { after: number; run: () => Promise<unknown> },
): Promise<{ stats: Stats; ids: string[] }> {
  const stats: Stats = { accepted: 0, succeeded: 0, refused: 0, conflicts: 0, retried: 0, other: new Map() };
  const ids: string[] = [];
  let faultDone: Promise<unknown> | undefined;
  const started = Date.now();
  const one = async (i: number) => {
    const id = await submit(i, stats);
    stats.accepted++;
    ids.push(id);
    const end = await finish(id);
    if (end === "SUCCESS") stats.succeeded++;
    else stats.other.set(end, (stats.other.get(end) ?? 0) + 1);
    if (fault && !faultDone && stats.succeeded >= fault.after) {
      stats.inFlightAtFault = n - stats.succeeded - stats.other.size;
      faultDone = Promise.resolve().then(fault.run);
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) await one(next++);
    }),
  );
  if (faultDone) await faultDone;
  const lost = stats.accepted - stats.succeeded;
  const line =
    `jobs: ${stats.accepted} accepted, ${stats.succeeded} succeeded, ${lost} lost` +
    `; ${stats.refused} answers 503, ${stats.conflicts} 409 and ${stats.retried} connection errors retried` +
    (fault ? `; ${stats.inFlightAtFault ?? "?"} not yet finished when the fault began` : "") +
    ` (${((Date.now() - started) / 1000).toFixed(1)} s)`;
  t.diagnostic(line);
  console.log(`# ${t.name}: ${line}`);
  assert.ok(!fault || faultDone, "the fault ran mid-run");
  assert.deepEqual(Object.fromEntries(stats.other), {}, "jobs that did not succeed");
  assert.equal(stats.succeeded, n);
  return { stats, ids };
}

/** Distinct worker containers that logged "job succeeded". */
function workersThatSucceeded(): Set<string> {
  const names = new Set<string>();
  for (const line of dc("logs", "--no-color", "worker").split("\n")) {
    const bar = line.indexOf(" | ");
    if (bar < 0 || !line.includes('"job succeeded"')) continue;
    names.add(line.slice(0, bar).trim());
  }
  return names;
}

describe("compose stack (podman + docker-compose, 3 workers)", { timeout: 30 * 60_000 }, () => {
  const earlier: string[] = [];

  it("/readyz answers 200 and /metrics has the job counters", async () => {
    const ready = await fetch(`${BASE}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    const metrics = await (await fetch(`${BASE}/metrics`)).text();
    assert.match(metrics, /^iris_jobs_succeeded_total /m);
  });

  it("the form: POST /predict → 303 → the job page → the PDF", async () => {
    const form = new URLSearchParams({
      sepal_length: "5.1",
      sepal_width: "3.5",
      petal_length: "1.4",
      petal_width: "0.2",
    });
    const res = await fetch(`${BASE}/predict`, { method: "POST", body: form, redirect: "manual" });
    assert.equal(res.status, 303);
    const location = res.headers.get("location")!;
    assert.match(location, /^\/jobs\/[\w-]+$/);
    const id = location.split("/").pop()!;
    const page = await fetch(`${BASE}${location}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    await page.body?.cancel();
    assert.equal(await finish(id), "SUCCESS");
    earlier.push(id);
  });

  it("300 JSON-API jobs all succeed with their PDF, spread over the 3 workers", async (t) => {
    assert.equal(containers("worker").length, 3);
    const { ids } = await batch(t, 300);
    earlier.push(...ids);
    const workers = workersThatSucceeded();
    t.diagnostic(`workers that finished jobs: ${[...workers].join(", ")}`);
    assert.equal(workers.size, 3, [...workers].join(", "));
    const metrics = await (await fetch(`${BASE}/metrics`)).text();
    const succeeded = Number(metrics.match(/^iris_jobs_succeeded_total (\d+)/m)?.[1]);
    assert.ok(succeeded >= 301, `iris_jobs_succeeded_total ${succeeded}`);
  });

  it("a worker SIGKILLed mid-run loses no job", async (t) => {
    const victim = containers("worker")[0]!;
    await batch(t, 150, { after: 20, run: () => runAsync("podman", ["kill", "--signal", "KILL", victim]) });
    // restart: unless-stopped brings it back, or compose does.
    dc("up", "-d", "--no-build", "--no-recreate", "--scale", "worker=3");
    await threeHealthyWorkers();
  });

  it("`docker-compose restart rabbitmq` mid-run loses no job", async (t) => {
    await batch(t, 150, { after: 20, run: () => dcAsync("restart", "rabbitmq") });
  });

  it("`docker-compose restart redis` mid-run loses no job", async (t) => {
    await batch(t, 150, { after: 20, run: () => dcAsync("restart", "redis") });
  });

  it("a busy worker stopped exits 0 within its grace period, and no job is lost", async (t) => {
    const victim = containers("worker")[1]!;
    let seconds = 0;
    await batch(t, 150, {
      after: 20,
      run: async () => {
        const began = Date.now();
        await runAsync("podman", ["stop", "--time", "40", victim]);
        seconds = (Date.now() - began) / 1000;
      },
    });
    const code = podman("inspect", "--format", "{{.State.ExitCode}}", victim).trim();
    t.diagnostic(`${victim} stopped in ${seconds.toFixed(1)} s with exit code ${code}`);
    assert.equal(code, "0");
    assert.ok(seconds < 40, `${seconds} s`);
    podman("start", victim);
    await threeHealthyWorkers();
  });

  it("down then up (volumes kept): queued jobs still run, finished jobs keep their PDF", async (t) => {
    const stats: Stats = { accepted: 0, succeeded: 0, refused: 0, conflicts: 0, retried: 0, other: new Map() };
    const queued: string[] = [];
    // Accepted while the workers are stopped, so they are still queued at `down`.
    dc("stop", "worker");
    for (let i = 0; i < 100; i++) queued.push(await submit(i, stats));
    const began = Date.now();
    dc("down");
    dc("up", "-d", "--no-build", "--scale", "worker=3");
    await waitFor("/readyz 200 after up", async () => (await fetch(`${BASE}/readyz`)).status === 200, 180_000);
    t.diagnostic(`ready again ${((Date.now() - began) / 1000).toFixed(1)} s after down`);
    const ends = await Promise.all(queued.map(finish));
    const succeeded = ends.filter((e) => e === "SUCCESS").length;
    let kept = 0;
    for (const id of earlier) {
      await assertPdf(id);
      kept++;
    }
    const line = `jobs queued across down/up: ${queued.length} accepted, ${succeeded} succeeded, ${queued.length - succeeded} lost; ${kept}/${earlier.length} earlier PDFs still served`;
    t.diagnostic(line);
    console.log(`# ${line}`);
    assert.equal(succeeded, queued.length, JSON.stringify(ends.filter((e) => e !== "SUCCESS")));
  });
});

describe("compose stack with the s3 profile (MinIO's stand-in, REPORT_STORE=s3://…)", { timeout: 15 * 60_000 }, () => {
  const BUCKET = "iris-reports";
  const s3env = {
    REPORT_STORE: `s3://${BUCKET}/reports`,
    AWS_ACCESS_KEY_ID: "iris-compose",
    AWS_SECRET_ACCESS_KEY: randomUUID().replaceAll("-", ""),
  };

  it("jobs succeed with their PDF in the bucket, served through /result, and nothing on the results volume", async (t) => {
    const began = Date.now();
    // A fresh project (volumes deleted), so an empty results volume means no PDF went there.
    dcWith(s3env, 180_000, "down", "-v");
    dcWith(s3env, 600_000, "--profile", "s3", "up", "-d", "--no-build", "--scale", "worker=2");
    const ready = await waitForReady(240_000);
    t.diagnostic(`ready with the s3 profile ${((Date.now() - began) / 1000).toFixed(1)} s after down -v: ${JSON.stringify(ready)}`);
    assert.deepEqual(ready, { rabbitmq: "ok", redis: "ok", report_store: "ok" });

    const [creator] = containers("create-bucket", true);
    assert.ok(creator, "the create-bucket container ran");
    await waitFor("create-bucket exited", () => podman("inspect", "--format", "{{.State.Status}}", creator).trim() === "exited", 60_000);
    assert.equal(podman("inspect", "--format", "{{.State.ExitCode}}", creator).trim(), "0");
    const line = run("podman", ["logs", creator], 30_000)
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .at(-1);
    assert.equal(line?.msg, `bucket ${BUCKET} created`, JSON.stringify(line));

    const { ids } = await batch(t, 60);
    const web = containers("web")[0]!;
    // The bucket's listing, from inside the web container with the service's own config and client.
    const list = `
      const { loadConfig } = await import("/app/dist/tasks/config.js");
      const { createS3Client } = await import("/app/dist/tasks/report-store/s3-client.js");
      const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
      const config = loadConfig();
      const client = createS3Client(config);
      const keys = [];
      let token;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: config.REPORT_STORE.bucket, Prefix: config.REPORT_STORE.prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key));
        token = page.NextContinuationToken;
      } while (token);
      console.log(JSON.stringify(keys));
      client.destroy();`;
    const keys = new Set(JSON.parse(podman("exec", "-w", "/app", web, "node", "--input-type=module", "-e", list)) as string[]);
    const missing = ids.filter((id) => !keys.has(`reports/iris-report-${id}.pdf`));
    assert.deepEqual(missing, [], "every job's report is an object in the bucket");
    const workers = containers("worker");
    assert.equal(workers.length, 2);
    for (const name of [web, ...workers]) {
      assert.equal(podman("exec", name, "ls", "-A", "/app/results_data").trim(), "", `${name}: results volume empty`);
    }
    const summary = `s3 profile: ${ids.length} jobs, ${keys.size} objects in s3://${BUCKET}/reports/, results volume empty in web and ${workers.length} workers (${((Date.now() - began) / 1000).toFixed(1)} s from down -v)`;
    t.diagnostic(summary);
    console.log(`# ${summary}`);
  });
});

/** Waits for /readyz 200 and returns its checks. */
async function waitForReady(limitMs: number): Promise<Record<string, string>> {
  let checks: Record<string, string> = {};
  await waitFor(
    "/readyz 200",
    async () => {
      const res = await fetch(`${BASE}/readyz`, { signal: AbortSignal.timeout(5000) });
      checks = ((await res.json()) as { checks: Record<string, string> }).checks;
      return res.status === 200;
    },
    limitMs,
  );
  return checks;
}
