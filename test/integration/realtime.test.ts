// socket.io across processes on the real services: two web processes and a worker; every client
// is connected to the web process that did NOT take the submission.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { io, type Socket } from "socket.io-client";
import type { ProgressBody } from "../../app/job-view.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import type { JobStore } from "../../tasks/store/types.js";
import { startProcess } from "../helpers/processes.js";
import { testRedis } from "../helpers/services.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

type Ack = { ok: true } | { ok: false; error: string; status: number };

/** A websocket-only client that records every `progress` event with its arrival time. */
async function connect(base: string) {
  const socket: Socket = io(base, { transports: ["websocket"], reconnection: false, forceNew: true });
  const events: Array<{ body: ProgressBody; at: number }> = [];
  socket.on("progress", (body: ProgressBody) => events.push({ body, at: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  const subscribe = (payload: unknown) =>
    socket.timeout(5000).emitWithAck("subscribe", payload) as Promise<Ack>;
  return { socket, events, subscribe, of: (jobid: string) => events.filter((e) => e.body.jobid === jobid) };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describe("socket.io progress across two web processes (RabbitMQ + Redis)", () => {
  let stack: Stack;
  let store: JobStore;
  const clients: Array<Awaited<ReturnType<typeof connect>>> = [];

  before(async () => {
    // No worker yet: jobs wait in the queue until the test starts one, so subscribers see every change.
    stack = await startStack({ webs: 2, workers: 0, kind: "rt", env: { ALLOWED_ORIGINS: "https://iris.example" } });
    store = createRedisStore({ client: testRedis(), subscriber: testRedis(), ttlSeconds: 600, prefix: stack.ns });
  });

  after(async () => {
    for (const c of clients) c.socket.close();
    await store.close();
    const codes = await stack.stop();
    assert.deepEqual(codes, codes.map(() => 0), "every process exits 0 on SIGTERM");
  });

  const client = async (base: string) => {
    const c = await connect(base);
    clients.push(c);
    return c;
  };

  const submit = async (base: string, fields: Record<string, string>) => {
    const res = await fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" });
    assert.equal(res.status, 303);
    return res.headers.get("location")!.split("/").pop()!;
  };

  it("takes its own origin and ALLOWED_ORIGINS, refuses another site's page, and sends the security headers", async () => {
    const base = stack.webs[1]!;
    const handshake = (origin?: string) =>
      fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { Origin: origin } : {} });
    for (const [origin, status] of [
      [base, 200],
      ["https://iris.example", 200],
      [undefined, 200],
      ["http://evil.example", 403],
    ] as const) {
      const res = await handshake(origin);
      assert.equal(res.status, status, `Origin: ${origin}`);
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
      await res.arrayBuffer();
    }
    const evil = io(base, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      extraHeaders: { Origin: "http://evil.example" },
    });
    const refused = await new Promise<boolean>((resolve) => {
      evil.once("connect", () => resolve(false));
      evil.once("connect_error", () => resolve(true));
    });
    evil.close();
    assert.ok(refused, "a WebSocket from another site is refused");
  });

  it("acknowledges malformed and unknown ids with ok:false and a sentence", async () => {
    const c = await client(stack.webs[1]!);
    const malformed = await c.subscribe({ jobid: "../../etc/passwd" });
    assert.deepEqual(malformed, { ok: false, error: "The job id is not a valid id.", status: 400 });
    const missing = await c.subscribe({});
    assert.equal(missing.ok, false);
    assert.equal((missing as { status: number }).status, 400);
    const unknown = await c.subscribe({ jobid: randomUUID() });
    assert.equal(unknown.ok, false);
    assert.equal((unknown as { status: number }).status, 404);
    assert.match((unknown as { error: string }).error, /no job/i);
    assert.equal(c.events.length, 0, "a refused subscription gets no events");
  });

  it("sends the current state at once, then every change in order; another job's subscriber gets none of it", async () => {
    const at = new Date().toISOString();
    const base = { state: "PENDING" as const, progress: 0, stage: "queued" as const, attempts: 0, created_at: at, updated_at: at };
    const input = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
    const mine = randomUUID();
    const other = randomUUID();
    await store.create({ ...base, jobid: mine, input });
    await store.create({ ...base, jobid: other, input });
    const a = await client(stack.webs[1]!);
    const b = await client(stack.webs[1]!);
    assert.deepEqual(await a.subscribe({ jobid: mine }), { ok: true });
    assert.deepEqual(await b.subscribe({ jobid: other }), { ok: true });
    await waitFor(() => a.of(mine).length === 1 && b.of(other).length === 1, { what: "current states" });
    assert.equal(a.events[0]!.body.state, "PENDING");

    // This test process writes like a worker would, through its own Redis connection.
    const stages = [
      ["validating", 0.1],
      ["classifying", 0.3],
      ["rendering", 0.6],
      ["saving", 0.9],
    ] as const;
    for (const [stage, progress] of stages) await store.update(mine, { state: "PROGRESS", stage, progress });
    await store.update(mine, {
      state: "SUCCESS",
      stage: "done",
      progress: 1,
      result: "setosa",
      probabilities: { setosa: 1, versicolor: 0, virginica: 0 },
      report: "secret-file-name.pdf",
    });
    await waitFor(() => a.of(mine).some((e) => e.body.state === "SUCCESS"), { what: "SUCCESS event" });
    assert.deepEqual(
      a.events.map((e) => `${e.body.stage}:${e.body.progress}`),
      ["queued:0", "validating:0.1", "classifying:0.3", "rendering:0.6", "saving:0.9", "done:1"],
    );
    const last = a.events.at(-1)!.body;
    assert.deepEqual(last, {
      jobid: mine,
      state: "SUCCESS",
      progress: 1,
      stage: "done",
      stage_label: "Done",
      result: "setosa",
      probabilities: { setosa: 1, versicolor: 0, virginica: 0 },
    });
    // The same body as /progress, from either web process.
    assert.deepEqual(await (await fetch(`${stack.webs[0]}/progress?jobid=${mine}`)).json(), last);
    assert.ok(b.events.every((e) => e.body.jobid === other), "b only hears about its own job");
    assert.equal(b.events.length, 1);
  });

  it("relays a real worker's updates to clients on the other web process, job by job, and measures the latency", async (t) => {
    const jobs = 40;
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) {
      ids.push(await submit(stack.webs[0]!, { sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.8", petal_width: "2.2" }));
    }
    // Two clients on web #2: one follows the even jobs, the other the odd ones.
    const even = await client(stack.webs[1]!);
    const odd = await client(stack.webs[1]!);
    for (const [i, id] of ids.entries()) {
      const ack = await (i % 2 ? odd : even).subscribe({ jobid: id });
      assert.deepEqual(ack, { ok: true });
    }
    await waitFor(() => even.events.length + odd.events.length === jobs, { what: "current states" });
    // When each change was written: the worker stamps updated_at; this feed sees every record.
    const writtenAt = new Map<string, number>();
    const stopFeed = await store.subscribe((r) => writtenAt.set(`${r.jobid}:${r.stage}`, Date.parse(r.updated_at)));
    const start = Date.now();
    stack.workerProcs.push(await startProcess("tasks/main.ts", stack.env, { readyMsg: "worker ready" }));

    const finished = (c: typeof even) => c.events.filter((e) => e.body.state === "SUCCESS").length;
    await waitFor(() => finished(even) + finished(odd) === jobs, { timeoutMs: 60_000, intervalMs: 50, what: `${jobs} jobs done` });
    const elapsed = Date.now() - start;
    await waitFor(() => writtenAt.size >= jobs * 5, { what: "the feed to see every write" });
    await stopFeed();

    const latencies: number[] = [];
    for (const [i, id] of ids.entries()) {
      const mineClient = i % 2 ? odd : even;
      const otherClient = i % 2 ? even : odd;
      assert.equal(otherClient.of(id).length, 0, `job ${i}'s events never reach the other client`);
      const seen = mineClient.of(id);
      assert.deepEqual(
        seen.map((e) => e.body.stage),
        ["queued", "validating", "classifying", "rendering", "saving", "done"],
        `job ${i}: the current state, then every change`,
      );
      assert.equal(seen.at(-1)!.body.result, "virginica");
      // Worker's store update (updated_at is stamped by the worker as it writes) → client event.
      for (const e of seen.slice(1)) {
        const written = writtenAt.get(`${id}:${e.body.stage}`);
        assert.ok(written !== undefined, `saw the worker's write for ${e.body.stage}`);
        latencies.push(e.at - written);
      }
    }
    latencies.sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    const p95 = percentile(latencies, 95);
    t.diagnostic(`socket latency over ${latencies.length} events: p50 ${p50} ms, p95 ${p95} ms, max ${latencies.at(-1)} ms; ${jobs} jobs in ${elapsed} ms`);
    assert.equal(latencies.length, jobs * 5, "one sample per relayed change");
    assert.ok(p95 < 500, `p95 ${p95} ms stays well under a human's notice`);
  });
});
