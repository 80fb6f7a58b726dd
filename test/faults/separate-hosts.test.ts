// Separate hosts, nothing shared but the services (issue 15 item 3): every process on a network
// host of its own (a network namespace with one veth link into a bridge), no disk in common:
// nginx (lb) round robin over web1 and web2, worker1 and worker2, RabbitMQ, Redis and an S3 server
// (Ceph RGW) each on its own host, reports only in the bucket. Through the load balancer: a person's
// flow in chromium (live progress over socket.io through nginx's WebSocket pass-through, the PDF),
// 300 JSON-API jobs with every PDF downloaded; both replicas served and both workers ran jobs; a
// socket on either replica hears progress from either worker; no process wrote a file locally.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Browser, Page } from "playwright-core";
import { io, type Socket } from "socket.io-client";
import type { ProgressBody } from "../../app/job-view.js";
import { launchChromium, recordedPage } from "../helpers/browser.js";
import { removeStaleLabs, startLab, type Lab } from "../helpers/netns.js";
import { startNginxIn, startRabbitIn, startRedisIn, type LabNginx, type LabService } from "../helpers/netns-services.js";
import { startProcess, type ServiceProcess } from "../helpers/processes.js";
import { parsePromText } from "../helpers/prom-text.js";
import { startS3Server, type S3Server } from "../helpers/s3-server.js";
import { succeededBy } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

const TAG = "sh";
const OWNER = "separate-hosts";
const HOSTS = ["lb", "web1", "web2", "worker1", "worker2", "rabbitmq", "redis", "s3"];
const WEB_PORT = 8080;
const API_JOBS = 300;
const SOCKET_JOBS = 16; // a socket follows at most 20 jobs
const ALL_STAGES = ["queued", "validating", "classifying", "rendering", "saving", "done"];
const FLOWERS = [
  { input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, species: "setosa" },
  { input: { sepal_length: 5.9, sepal_width: 3, petal_length: 4.2, petal_width: 1.5 }, species: "versicolor" },
  { input: { sepal_length: 6.7, sepal_width: 3, petal_length: 5.8, petal_width: 2.2 }, species: "virginica" },
];

/** A web or worker process on its host, with the directories it was given. */
interface HostProcess {
  name: string;
  proc: ServiceProcess;
  /** Its working directory (also HOME); TMPDIR and RESULTS_DIR are inside it. */
  dir: string;
}

/** Runs `count` calls of `task` with at most `limit` at once. */
async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** Every file under `dir` (directories themselves are not listed). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

type Ack = { ok: true } | { ok: false; error: string; status: number };

/** A WebSocket-only socket.io client that records every `progress` event. */
async function connectSocket(base: string) {
  const socket: Socket = io(base, { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 10_000 });
  const events: ProgressBody[] = [];
  socket.on("progress", (body: ProgressBody) => events.push(body));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return {
    socket,
    events,
    subscribe: (jobid: string) => socket.timeout(10_000).emitWithAck("subscribe", { jobid }) as Promise<Ack>,
    of: (jobid: string) => events.filter((e) => e.jobid === jobid),
  };
}

/** The run in one line, from what the tests recorded (a part missing when its test did not get there). */
function summary(n: Record<string, unknown>): string {
  const api = n.api as { jobs: number; submittedS: number; lastRunS: number; downloadedS: number } | undefined;
  const req = n.requests as { all: Record<string, number>; submissions: Record<string, number> } | undefined;
  const perWorker = n.jobsPerWorker as Record<string, number> | undefined;
  const sockets = n.sockets as { perWorker: Record<string, number>; eventsPerReplica: Record<string, number> } | undefined;
  const pairs = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(" / ");
  return [
    n.setupS !== undefined && `set-up ${n.setupS} s`,
    api && `${api.jobs} API jobs through the LB submitted in ${api.submittedS} s, all run ${api.lastRunS} s after the first, every PDF downloaded in ${api.downloadedS} s`,
    req && `requests per replica ${pairs(req.all)} (submissions ${pairs(req.submissions)})`,
    perWorker && `jobs per worker ${pairs(perWorker)}`,
    sockets && `socket jobs per worker ${pairs(sockets.perWorker)}, events per replica ${pairs(sockets.eventsPerReplica)}`,
    n.bucketObjects !== undefined && `${n.bucketObjects} objects in the bucket, no local file`,
    `total ${n.totalS} s`,
  ]
    .filter(Boolean)
    .join("; ");
}

interface PageStatus {
  mode: string;
  events: number;
  polls: number;
  stages: string[];
}

const pageStatus = (page: Page) =>
  page.evaluate(() => ({ ...(window as unknown as { irisProgress: { status: PageStatus } }).irisProgress.status }));

describe("separate hosts: lb, web1, web2, worker1, worker2, RabbitMQ, Redis and S3 each in its own network namespace", () => {
  let lab: Lab | undefined;
  let rabbit: LabService | undefined;
  let redis: LabService | undefined;
  let s3: S3Server | undefined;
  let nginx: LabNginx | undefined;
  let browser: Browser | undefined;
  let bucket = "";
  let token = "";
  let lb = "";
  const webs: HostProcess[] = [];
  const workers: HostProcess[] = [];
  const sockets: Array<Awaited<ReturnType<typeof connectSocket>>> = [];
  /** Every job that reached SUCCESS, by id. */
  const succeeded = new Set<string>();
  const numbers: Record<string, unknown> = {};
  const started = Date.now();

  const webBase = (h: HostProcess) => `http://${lab!.hosts[h.name]!.addr}:${WEB_PORT}`;
  /** SIGSTOP both workers while `fn` runs, so whatever is queued meanwhile waits for the test. */
  const withWorkersPaused = async <T>(fn: (resume: () => void) => Promise<T>): Promise<T> => {
    let paused = true;
    const resume = () => {
      if (!paused) return;
      paused = false;
      for (const w of workers) w.proc.child.kill("SIGCONT");
    };
    for (const w of workers) w.proc.child.kill("SIGSTOP");
    try {
      return await fn(resume);
    } finally {
      resume();
    }
  };
  /** An async JSON-API submission through the load balancer; retries a 503 (Retry-After) a few times. */
  const submit = async (input: Record<string, number>): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${lb}/predict`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Async-Mode": "true", "X-Api-Token": token },
        body: JSON.stringify({ input }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await res.json()) as { prediction_id?: string };
      if (res.status === 202) return body.prediction_id!;
      if (res.status !== 503 || attempt >= 20) throw new Error(`a submission answered ${res.status}: ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const progress = async (jobid: string): Promise<ProgressBody> => {
    const res = await fetch(`${lb}/progress?jobid=${jobid}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200, `/progress of ${jobid}`);
    return (await res.json()) as ProgressBody;
  };

  before(async () => {
    const stale = removeStaleLabs(TAG, OWNER);
    if (stale.length) console.log(`# removed what a crashed run left: ${stale.join(", ")}`);
    lab = await startLab({ tag: TAG, owner: OWNER, hosts: HOSTS });
    const addr = (name: string) => lab!.hosts[name]!.addr;
    [rabbit, redis, s3] = await Promise.all([
      startRabbitIn(lab, "rabbitmq"),
      startRedisIn(lab, "redis"),
      startS3Server({ netns: lab.hosts.s3!.ns, bindAddr: addr("s3"), parent: lab.dir }),
    ]);
    bucket = await s3.newBucket("hosts");
    token = randomBytes(16).toString("hex");
    numbers.servicesUpS = (Date.now() - started) / 1000;

    // Only what the service needs: the dependencies' URLs, the bucket and its credentials, and
    // directories of its own (HOME too, so nothing is read from or written to the test's).
    const hostEnv = (name: string): { dir: string; env: Record<string, string> } => {
      const dir = mkdtempSync(join(lab!.dir, `${name}-`));
      mkdirSync(join(dir, "tmp"));
      mkdirSync(join(dir, "results"));
      return {
        dir,
        env: {
          PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          HOME: dir,
          TMPDIR: join(dir, "tmp"),
          RESULTS_DIR: join(dir, "results"),
          RABBITMQ_URL: rabbit!.url,
          REDIS_URL: redis!.url,
          REPORT_STORE: `s3://${bucket}/reports`,
          ...s3!.env,
        },
      };
    };
    const startOn = async (name: string, entry: string, readyMsg: string, extra: Record<string, string>) => {
      const { dir, env } = hostEnv(name);
      const proc = await startProcess(entry, { ...env, ...extra }, {
        readyMsg,
        netns: lab!.hosts[name]!.ns,
        inheritEnv: false,
        cwd: dir,
        timeoutMs: 90_000,
      });
      return { name, proc, dir };
    };
    const web = (name: string) =>
      startOn(name, "app/main.ts", "web ready", { HOST: addr(name), PORT: String(WEB_PORT), API_TOKENS: token, TRUST_PROXY: "1" });
    const worker = (name: string) => startOn(name, "tasks/main.ts", "worker ready", {});
    const procs = await Promise.allSettled([web("web1"), web("web2"), worker("worker1"), worker("worker2")]);
    for (const p of procs) if (p.status === "fulfilled") (p.value.name.startsWith("web") ? webs : workers).push(p.value);
    const failed = procs.find((p) => p.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    nginx = await startNginxIn(lab, "lb", webs.map((w) => `${addr(w.name)}:${WEB_PORT}`));
    lb = nginx.url;
    numbers.setupS = (Date.now() - started) / 1000;
  });

  after(async () => {
    for (const s of sockets) s.socket.close();
    await browser?.close().catch(() => {});
    for (const w of workers) w.proc.child.kill("SIGCONT");
    // SIGTERM: each finishes what it holds and exits 0; one that does not within 40 s is killed
    // with the lab.
    const codes = await Promise.all(
      [...webs, ...workers].map((h) =>
        Promise.race([h.proc.stop("SIGTERM"), new Promise<string>((r) => setTimeout(() => r("no exit in 40 s"), 40_000).unref())]),
      ),
    );
    await nginx?.stop().catch(() => {});
    await s3?.close().catch((err: Error) => console.log(`# s3 close: ${err.message}`));
    await redis?.stop().catch(() => {});
    await rabbit?.stop().catch(() => {});
    await lab?.close();
    numbers.totalS = (Date.now() - started) / 1000;
    console.log(`# separate hosts: ${summary(numbers)}`);
    console.log(`# separate hosts, the numbers: ${JSON.stringify(numbers)}`);
    assert.deepEqual(codes, codes.map(() => 0), "every web and worker process exits 0 on SIGTERM");
  });

  it("the browser flow through the load balancer: form → live bar over socket.io (through nginx) → species → the PDF", async () => {
    // --no-proxy-server: the page talks to the load balancer's address and to nothing else.
    browser = await launchChromium(["--no-proxy-server"]);
    const rec = await recordedPage(browser, {
      // Chromium's note that it ignores the Cross-Origin-Opener-Policy header on a plain-HTTP origin
      // other than localhost (here the load balancer's address; a deployment serves HTTPS), not a
      // fault of the page.
      ignoreConsole: (text) => text.startsWith("The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy."),
    });
    const { page } = rec;
    await page.goto(`${lb}/`);
    await page.click('button[data-example="virginica"]');
    const jobid = await withWorkersPaused(async (resume) => {
      await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('button[type="submit"]')]);
      // The job waits (workers stopped) until the page follows it over its socket.
      await page.waitForFunction(() => (window as unknown as { irisProgress?: { status: PageStatus } }).irisProgress?.status.mode === "socket", null, {
        timeout: 30_000,
      });
      assert.equal(await page.textContent("#stage"), "Waiting in the queue");
      resume();
      await page.waitForFunction(() => (document.getElementById("bar") as HTMLProgressElement | null)?.value === 100, null, { timeout: 60_000 });
      return (await page.getAttribute("#job", "data-jobid"))!;
    });
    succeeded.add(jobid);
    await page.locator("#success").waitFor({ state: "visible", timeout: 30_000 });
    assert.equal(await page.textContent("#species"), "virginica");
    const s = await pageStatus(page);
    assert.deepEqual(s.stages, ALL_STAGES, "the page showed every stage, live");
    assert.equal(s.events, ALL_STAGES.length, "each one a socket event");
    assert.equal(s.polls, 0, "and never by polling");
    const host = new URL(lb).host;
    assert.ok(
      rec.requests.some((u) => u.startsWith(`ws://${host}/socket.io/?`) && u.includes("transport=websocket")),
      `a WebSocket to the load balancer's /socket.io: ${rec.requests.join(" ")}`,
    );
    assert.ok(!rec.requests.some((u) => u.includes("transport=polling")), "the WebSocket transport only");
    const elsewhere = rec.requests.filter((u) => {
      const url = new URL(u);
      return !["chrome-extension:", "chrome:", "data:", "blob:", "about:"].includes(url.protocol) && url.host !== host;
    });
    assert.deepEqual(elsewhere, [], "every request went to the load balancer");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    assert.equal(download.suggestedFilename(), `iris-report-${jobid}.pdf`);
    const file = join(lab!.dir, "browser-download.pdf");
    await download.saveAs(file);
    execFileSync("qpdf", ["--check", file]);
    assert.match(execFileSync("pdftotext", ["-layout", file, "-"]).toString(), /virginica/);
    assert.deepEqual(rec.problems, [], "no console error or page error");
    await rec.context.close();
    // Which replica served the page and which took the form's post (the form token is signed
    // with a key both derive from API_TOKENS, so either may verify the other's).
    const log = nginx!.accessLog();
    const served = (upstream?: string) => webs.find((w) => `${lab!.hosts[w.name]!.addr}:${WEB_PORT}` === upstream)?.name ?? upstream;
    numbers.browser = {
      page: served(log.find((l) => l.method === "GET" && l.uri === "/")?.upstream),
      post: served(log.find((l) => l.method === "POST" && l.uri === "/predict")?.upstream),
      websocket: served(log.find((l) => l.uri.startsWith("/socket.io/?") && l.status === 101)?.upstream),
    };
  });

  it(`${API_JOBS} JSON-API jobs through the load balancer all succeed, and every PDF downloads through it`, async () => {
    const t0 = Date.now();
    const jobs = await pool(API_JOBS, 12, async (i) => {
      const flower = FLOWERS[i % FLOWERS.length]!;
      return { id: await submit(flower.input), species: flower.species };
    });
    const submittedMs = Date.now() - t0;
    assert.equal(new Set(jobs.map((j) => j.id)).size, API_JOBS, "one id per submission");
    const final = new Map<string, ProgressBody>();
    await waitFor(
      async () => {
        const open = jobs.filter((j) => !final.has(j.id));
        await pool(open.length, 8, async (i) => {
          const body = await progress(open[i]!.id);
          if (["SUCCESS", "FAILURE", "REVOKED"].includes(body.state)) final.set(body.jobid, body);
        });
        return final.size === API_JOBS;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${API_JOBS} jobs final (${final.size} so far)` },
    );
    const doneMs = Date.now() - t0;
    for (const j of jobs) {
      const body = final.get(j.id)!;
      assert.equal(body.state, "SUCCESS", `${j.id}: ${JSON.stringify(body)}`);
      assert.equal(body.result, j.species, `${j.id} is a ${j.species}`);
    }

    // Every report, through the load balancer: a whole PDF each, none missing.
    const sizes = await pool(API_JOBS, 12, async (i) => {
      const { id, species } = jobs[i]!;
      const res = await fetch(`${lb}/result?jobid=${id}`, { signal: AbortSignal.timeout(15_000) });
      assert.equal(res.status, 200, `the PDF of ${id}`);
      assert.equal(res.headers.get("content-type"), "application/pdf");
      const pdf = Buffer.from(await res.arrayBuffer());
      assert.equal(res.headers.get("content-length"), String(pdf.length));
      assert.equal(pdf.subarray(0, 5).toString(), "%PDF-", `${id}'s report is a PDF`);
      assert.ok(pdf.subarray(-32).toString().includes("%%EOF"), `${id}'s report is whole`);
      if (i < FLOWERS.length) {
        const file = join(lab!.dir, `api-${species}.pdf`);
        writeFileSync(file, pdf);
        execFileSync("qpdf", ["--check", file]);
        assert.match(execFileSync("pdftotext", [file, "-"]).toString(), new RegExp(species));
      }
      return pdf.length;
    });
    for (const j of jobs) succeeded.add(j.id);
    // When the workers finished the last of them (their log lines' time), after the first submission.
    const ids = new Set(jobs.map((j) => j.id));
    const lastDone = Math.max(
      ...workers.flatMap((w) => w.proc.logs().filter((l) => l.msg === "job succeeded" && ids.has(l.jobId as string))).map((l) => Date.parse(l.time as string)),
    );
    numbers.api = {
      jobs: API_JOBS,
      submittedS: submittedMs / 1000,
      lastRunS: (lastDone - t0) / 1000,
      allSeenS: doneMs / 1000,
      downloadedS: (Date.now() - t0 - doneMs) / 1000,
      pdfBytes: sizes.reduce((a, b) => a + b, 0),
    };
  });

  it("round robin is real: both web replicas served requests (nginx's log and each replica's /metrics agree) and both workers ran jobs", async () => {
    const log = nginx!.accessLog();
    const byUpstream = (filter: (l: (typeof log)[number]) => boolean) => {
      const counts: Record<string, number> = {};
      for (const l of log.filter(filter)) counts[l.upstream] = (counts[l.upstream] ?? 0) + 1;
      return counts;
    };
    const posts = byUpstream((l) => l.method === "POST" && l.uri === "/predict");
    const results = byUpstream((l) => l.method === "GET" && l.uri.startsWith("/result?"));
    const all = byUpstream(() => true);
    const upstreams = webs.map((w) => `${lab!.hosts[w.name]!.addr}:${WEB_PORT}`);
    assert.deepEqual(Object.keys(all).sort(), [...upstreams].sort(), `only the two replicas served, each of them: ${JSON.stringify(all)}`);
    const totalPosts = Object.values(posts).reduce((a, b) => a + b, 0);
    for (const u of upstreams) {
      assert.ok((posts[u] ?? 0) >= totalPosts * 0.35, `${u} took its share of the submissions: ${JSON.stringify(posts)}`);
      assert.ok((results[u] ?? 0) > 0, `${u} served PDFs: ${JSON.stringify(results)}`);
    }
    const problems = nginx!.errorLog().split("\n").filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    assert.deepEqual(problems, [], "nginx logged no upstream error (no request failed over to the other replica)");
    // Each replica's own count of POST /predict is what nginx sent it.
    const fromMetrics: Record<string, number> = {};
    for (const w of webs) {
      const res = await fetch(`${webBase(w)}/metrics`);
      const samples = parsePromText(await res.text());
      const u = `${lab!.hosts[w.name]!.addr}:${WEB_PORT}`;
      fromMetrics[u] = samples
        .filter((s) => s.name === "iris_http_request_duration_seconds_count" && s.labels.method === "POST" && s.labels.route === "/predict")
        .reduce((a, s) => a + s.value, 0);
    }
    assert.deepEqual(fromMetrics, posts, "each replica counted the submissions nginx sent it");

    const ran = workers.map((w) => succeededBy(w.proc));
    for (const [i, jobs] of ran.entries()) assert.ok(jobs.length > 0, `${workers[i]!.name} ran jobs`);
    const ranAll = ran.flat();
    assert.equal(new Set(ranAll).size, ranAll.length, "no job ran to success twice");
    assert.deepEqual(new Set(ranAll), succeeded, "the two workers ran every job, and nothing else");
    const named = (counts: Record<string, number>) =>
      Object.fromEntries(webs.map((w) => [w.name, counts[`${lab!.hosts[w.name]!.addr}:${WEB_PORT}`] ?? 0]));
    numbers.requests = { all: named(all), submissions: named(posts), pdfs: named(results) };
    numbers.jobsPerWorker = Object.fromEntries(workers.map((w, i) => [w.name, ran[i]!.length]));
  });

  it("a form page served by one replica is accepted by the other (no sticky sessions for the form token)", async () => {
    const fields = Object.fromEntries(Object.entries(FLOWERS[0]!.input).map(([k, v]) => [k, String(v)]));
    const ids: string[] = [];
    for (const [from, to] of [[webs[0]!, webs[1]!], [webs[1]!, webs[0]!]] as const) {
      const page = await fetch(`${webBase(from)}/`);
      const cookie = page.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("iris_form_session="));
      const formToken = /name="form_token" value="([^"]+)"/.exec(await page.text())?.[1];
      assert.ok(cookie && formToken, `${from.name}'s form page sets the session cookie and carries its token`);
      const post = (extra: Record<string, string>) =>
        fetch(`${webBase(to)}/predict`, { method: "POST", headers: { cookie }, body: new URLSearchParams({ ...fields, ...extra }), redirect: "manual" });
      const refused = await post({});
      assert.equal(refused.status, 401, `${to.name} refuses the form post without the token (API_TOKENS is set)`);
      await refused.arrayBuffer();
      const res = await post({ form_token: formToken });
      assert.equal(res.status, 303, `${to.name} accepts the token ${from.name} issued: ${await res.clone().text()}`);
      ids.push(res.headers.get("location")!.split("/").pop()!);
    }
    await waitFor(async () => (await Promise.all(ids.map(progress))).every((b) => b.state === "SUCCESS"), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: "the two form jobs to succeed",
    });
    for (const id of ids) succeeded.add(id);
  });

  it("progress pushed by either worker reaches a socket on either replica (clients connected to web1 and web2 directly)", async () => {
    const onWeb = await Promise.all(webs.map((w) => connectSocket(webBase(w))));
    sockets.push(...onWeb);
    const earlier = workers.map((w) => new Set(succeededBy(w.proc)));
    const ids = await withWorkersPaused(async (resume) => {
      const ids = await pool(SOCKET_JOBS, 4, (i) => submit(FLOWERS[i % FLOWERS.length]!.input));
      for (const c of onWeb) {
        for (const id of ids) assert.deepEqual(await c.subscribe(id), { ok: true });
      }
      // Each socket has the current state of each job, still queued: what follows is pushed.
      await waitFor(() => onWeb.every((c) => ids.every((id) => c.of(id).length >= 1)), { timeoutMs: 10_000, what: "the current states" });
      for (const c of onWeb) for (const id of ids) assert.equal(c.of(id)[0]!.state, "PENDING");
      resume();
      await waitFor(() => onWeb.every((c) => ids.every((id) => c.of(id).some((e) => e.state === "SUCCESS"))), {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: `SUCCESS of ${SOCKET_JOBS} jobs on both sockets`,
      });
      return ids;
    });
    for (const id of ids) succeeded.add(id);
    // A worker logs "job succeeded" once the state is saved, so its line may trail the event a little.
    const ranBy = await waitFor(
      () => {
        const by = workers.map((w, i) => ids.filter((id) => succeededBy(w.proc).includes(id) && !earlier[i]!.has(id)));
        return by.flat().length >= SOCKET_JOBS ? by : null;
      },
      { timeoutMs: 10_000, what: "the workers' log lines of these jobs" },
    );
    for (const [i, jobs] of ranBy.entries()) assert.ok(jobs.length > 0, `${workers[i]!.name} ran some of these jobs: ${JSON.stringify(ranBy.map((r) => r.length))}`);
    assert.equal(ranBy.flat().length, SOCKET_JOBS, "each job ran on one of the two workers");
    for (const [i, c] of onWeb.entries()) {
      for (const id of ids) {
        const events = c.of(id);
        assert.deepEqual(
          events.map((e) => e.stage),
          ALL_STAGES,
          `${webs[i]!.name}'s socket saw every stage of ${id} (run by ${ranBy[0]!.includes(id) ? workers[0]!.name : workers[1]!.name})`,
        );
        assert.equal(events.at(-1)!.state, "SUCCESS");
      }
    }
    numbers.sockets = {
      jobs: SOCKET_JOBS,
      perWorker: Object.fromEntries(workers.map((w, i) => [w.name, ranBy[i]!.length])),
      eventsPerReplica: Object.fromEntries(webs.map((w, i) => [w.name, onWeb[i]!.events.length])),
    };
  });

  it("no process wrote a file to a local directory: the reports are the bucket's objects, one per job", async () => {
    for (const h of [...webs, ...workers]) {
      assert.deepEqual(filesUnder(h.dir), [], `${h.name}: nothing in its working directory, TMPDIR (tmp/) or RESULTS_DIR (results/)`);
    }
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3!.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "reports/", ContinuationToken }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    assert.equal(keys.length, succeeded.size, "one object per job");
    assert.deepEqual(new Set(keys), new Set([...succeeded].map((id) => `reports/iris-report-${id}.pdf`)));
    numbers.bucketObjects = keys.length;
  });
});
