// Status served from the change feed, on a real Redis of the test's own: the Redis commands a
// status request costs (INFO commandstats), and what happens when the feed's connection drops,
// hangs, or Redis itself dies or hangs during a long poll. The web's subscriber connection goes
// through a TCP proxy, so the feed can fail while its command connection still works.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { io as connectSocket } from "socket.io-client";
import { loadAppConfig } from "../../app/config.js";
import { createApp } from "../../app/create-app.js";
import { attachRealtime } from "../../app/realtime.js";
import { webDeps } from "../../app/web-deps.js";
import { createMemoryJobMetrics } from "../../tasks/metrics.js";
import { createJobCache } from "../../app/job-cache.js";
import { createMemoryQueue } from "../../tasks/queue/memory.js";
import { connectRedis } from "../../tasks/services.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import type { JobRecord } from "../../tasks/store/types.js";
import { testModel } from "../helpers/memory-app.js";
import { startPrivateRedis } from "../helpers/private-redis.js";
import { silentLogger } from "../helpers/silent-logger.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";

/** What "a few seconds" is for a 503 (as test/faults/redis-hang.test.ts). */
const BOUND_MS = 4000;

const newJob = (): JobRecord => {
  const at = new Date().toISOString();
  return {
    jobid: randomUUID(),
    state: "PENDING",
    progress: 0,
    stage: "queued",
    input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    attempts: 0,
    created_at: at,
    updated_at: at,
  };
};

/** A web app (this process) on a private Redis, and a second store on it: another process. */
async function feedStack() {
  const redis = await startPrivateRedis();
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: redis.port });
  const prefix = `feed-${randomUUID().slice(0, 8)}`;
  // The web's connections, made as production makes them (1.5 s command timeout, reconnects).
  const client = connectRedis(redis.url, silentLogger, "web-cmd");
  const subscriber = connectRedis(`redis://127.0.0.1:${proxy.port}`, silentLogger, "web-sub", { subscriber: true });
  for (const c of [client, subscriber]) c.on("error", () => {});
  const store = createRedisStore({ client, subscriber, ttlSeconds: 3600, prefix });
  const otherClient = new Redis(redis.url, { maxRetriesPerRequest: 1 }).on("error", () => {});
  const other = createRedisStore({ client: otherClient, ttlSeconds: 3600, prefix });
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 }).on("error", () => {});
  const config = loadAppConfig({ RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-feed-")) });
  const jobs = createJobCache({ store, ttlSeconds: 3600 });
  await jobs.ready;
  const app = createApp({
    ...webDeps({
      config,
      queue: createMemoryQueue({ maxAttempts: 3 }),
      store,
      jobMetrics: createMemoryJobMetrics(),
      model: testModel(),
      logger: silentLogger,
    }),
    jobs,
  });
  const server = createServer(app.callback());
  const realtime = await attachRealtime({ server, store, logger: silentLogger });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Calls of every command but the ones the test and the feed's heartbeat make (INFO, PING). */
  const commands = async () => {
    const info = await admin.info("commandstats");
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (!["info", "ping"].includes(m[1]!)) calls += Number(m[2]);
    return calls;
  };
  const progress = async (id: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/progress?jobid=${id}`, { headers, signal: AbortSignal.timeout(70_000) });
    return { res, body: res.status === 200 ? ((await res.json()) as { progress: number; state: string }) : null };
  };
  return {
    redis,
    proxy,
    other,
    jobs,
    base,
    commands,
    progress,
    async close() {
      redis.resume();
      proxy.resume();
      await jobs.close();
      server.closeAllConnections();
      await realtime.close(); // closes the server too
      for (const c of [client, subscriber, otherClient, admin]) c.disconnect();
      await proxy.close();
      await redis.close();
    },
  };
}

describe("fault: status from the change feed, on a real Redis", () => {
  it("costs no Redis command for a job heard on the feed (created by another process); one read for a job not heard of", async () => {
    const s = await feedStack();
    try {
      const heard = newJob();
      await s.other.create(heard);
      await s.other.update(heard.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
      await waitFor(() => s.jobs.stats().jobs === 1, { what: "the change to be heard" });
      const before = await s.commands();
      let tag = "";
      for (let i = 0; i < 100; i++) {
        const { res, body } = await s.progress(heard.jobid);
        assert.equal(body!.progress, 0.1);
        tag = res.headers.get("etag")!;
        assert.equal((await s.progress(heard.jobid, { "If-None-Match": tag })).res.status, 304);
        const predict = await fetch(`${s.base}/predict/${heard.jobid}`);
        assert.equal(predict.status, 202);
        await predict.arrayBuffer();
      }
      const heardCost = (await s.commands()) - before;
      assert.equal(heardCost, 0, "300 status requests of a job heard on the feed");

      const unheard = newJob();
      await s.other.create(unheard); // a creation is not published
      const before2 = await s.commands();
      for (let i = 0; i < 100; i++) assert.equal((await s.progress(unheard.jobid)).body!.state, "PENDING");
      const unheardCost = (await s.commands()) - before2;
      assert.equal(unheardCost, 1, "one HGETALL, then from memory");

      // A long poll is answered by another process's change.
      const waiting = s.progress(heard.jobid, { Prefer: "wait=30", "If-None-Match": tag });
      await waitFor(() => s.jobs.stats().waiters === 1, { what: "the long poll to wait" });
      const changed = Date.now();
      await s.other.update(heard.jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 });
      const { res, body } = await waiting;
      assert.equal(body!.progress, 0.3);
      assert.equal(res.headers.get("preference-applied"), "wait=30");
      console.log(
        `# status requests: ${heardCost} Redis commands for 300 of a job heard on the feed, ${unheardCost} for 100 of one not heard; ` +
          `long poll answered ${Date.now() - changed} ms after another process's change`,
      );
    } finally {
      await s.close();
    }
  });

  it("after the feed's connection drops, reads Redis (never serving what the gap hid), and trusts the feed again once it is back", async () => {
    const s = await feedStack();
    try {
      const job = newJob();
      await s.other.create(job);
      await s.other.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
      await waitFor(async () => (await s.progress(job.jobid)).body!.progress === 0.1, { what: "the change to be served" });
      await s.proxy.cut();
      await waitFor(() => !s.jobs.stats().live, { what: "the gap to be noticed" });
      await s.other.update(job.jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 }); // published into the gap
      assert.equal((await s.progress(job.jobid)).body!.progress, 0.3, "the change the feed missed is served");
      // While the feed is down a wait would never be woken: it is not applied.
      const declined = await s.progress(job.jobid, { Prefer: "wait=30" });
      assert.equal(declined.res.headers.get("preference-applied"), null);
      await s.proxy.restore();
      await waitFor(() => s.jobs.stats().live, { timeoutMs: 10_000, what: "the feed to resume" });
      const before = await s.commands();
      for (let i = 0; i < 20; i++) assert.equal((await s.progress(job.jobid)).body!.progress, 0.3);
      assert.equal((await s.commands()) - before, 1, "one read after the resume vouches for the job again");
      await s.other.update(job.jobid, { state: "PROGRESS", stage: "rendering", progress: 0.6 });
      const afterUpdate = await s.commands(); // the update's own commands (its script's included) are done
      await waitFor(async () => (await s.progress(job.jobid)).body!.progress === 0.6, { what: "the next change to be heard" });
      assert.equal((await s.commands()) - afterUpdate, 0, "heard, not read");
    } finally {
      await s.close();
    }
  });

  it("a socket following a job hears the change the feed missed, once the feed is back", async () => {
    const s = await feedStack();
    const socket = connectSocket(s.base, { transports: ["websocket"], reconnection: false, forceNew: true });
    try {
      const job = newJob();
      await s.other.create(job);
      const heard: Array<{ state: string; progress: number }> = [];
      socket.on("progress", (body: { state: string; progress: number }) => heard.push(body));
      assert.deepEqual(await socket.timeout(5000).emitWithAck("subscribe", { jobid: job.jobid }), { ok: true });
      await waitFor(() => heard.length === 1, { what: "the current state" });
      await s.proxy.cut();
      await waitFor(() => !s.jobs.stats().live, { what: "the gap to be noticed" });
      // The job ends while the web's feed is away: that change is published to no one here.
      await s.other.update(job.jobid, { state: "SUCCESS", stage: "done", progress: 1 });
      await s.proxy.restore();
      await waitFor(() => heard.at(-1)?.state === "SUCCESS", { timeoutMs: 10_000, what: "the socket to hear SUCCESS" });
      assert.deepEqual(
        heard.map((b) => b.state),
        ["PENDING", "SUCCESS"],
      );
    } finally {
      socket.disconnect();
      await s.close();
    }
  });

  it("when the feed's path hangs (connection open, nothing arrives), notices it by the heartbeat and reads Redis", async () => {
    const s = await feedStack();
    try {
      const job = newJob();
      await s.other.create(job);
      await s.other.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
      await waitFor(async () => (await s.progress(job.jobid)).body!.progress === 0.1, { what: "the change to be served" });
      s.proxy.pause();
      const paused = Date.now();
      await waitFor(() => !s.jobs.stats().live, { timeoutMs: 5000, what: "the heartbeat to notice the hang" });
      const noticedMs = Date.now() - paused;
      await s.other.update(job.jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 }); // held in the path
      assert.equal((await s.progress(job.jobid)).body!.progress, 0.3, "read from Redis, not the stale entry");
      s.proxy.resume();
      await waitFor(() => s.jobs.stats().live, { what: "the late PONG to resume the feed" });
      assert.equal((await s.progress(job.jobid)).body!.progress, 0.3);
      console.log(`# hung feed path noticed after ${noticedMs} ms`);
    } finally {
      await s.close();
    }
  });

  for (const fault of ["dies", "hangs"] as const) {
    it(`a long poll while Redis ${fault} gets 503 + Retry-After within ${BOUND_MS} ms`, async () => {
      const s = await feedStack();
      try {
        const job = newJob();
        await s.other.create(job);
        await s.other.update(job.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
        await waitFor(async () => (await s.progress(job.jobid)).body!.progress === 0.1, { what: "the change to be served" });
        const waiting = s.progress(job.jobid, { Prefer: "wait=60" });
        await waitFor(() => s.jobs.stats().waiters === 1, { what: "the long poll to wait" });
        const started = Date.now();
        if (fault === "dies") await s.redis.stop();
        else s.redis.hang();
        const { res } = await waiting;
        const ms = Date.now() - started;
        assert.equal(res.status, 503);
        assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After");
        assert.ok(ms < BOUND_MS, `503 after ${ms} ms`);
        assert.equal(s.jobs.stats().waiters, 0);
        console.log(`# long poll while Redis ${fault}: 503 after ${ms} ms`);
        if (fault === "hangs") {
          s.redis.resume();
          await waitFor(async () => (await s.progress(job.jobid)).body?.progress === 0.1, { what: "answers again" });
        }
      } finally {
        await s.close();
      }
    });
  }
});
