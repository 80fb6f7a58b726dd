// The round trips SPEC requires of every job, each measured alone at 1 in flight on the broker,
// Redis and disk the benchmark uses: what target (c) ("p50 at 1 in flight ≤ render + 3 ms") has to
// fit into 3 ms beside the HTTP request and the socket event. npm run bench runs it in every
// repetition; `node --import tsx scripts/bench/floors.ts` runs it alone (REDIS_URL/RABBITMQ_URL
// reuse running services, as the other probes do).
// Each is measured twice: back to back (every process involved stays awake, the least it can cost)
// and after an idle gap (IDLE_GAP_MS before each run), as in a job's chain, where the broker, Redis
// and the processes have each slept for milliseconds before their step and must be woken: on this
// machine a round trip after 20 ms of idleness costs several times one made hot.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import amqplib from "amqplib";
import { Redis } from "ioredis";
import { createFileReportStore } from "../../tasks/report-store/file.js";
import { median } from "./client.js";

export interface Floors {
  /** A persistent message published to a quorum queue, until the broker's confirm. */
  confirm_p50_ms: number;
  /** The same message from publish until a consumer (prefetch 1, manual ack) receives it. */
  deliver_p50_ms: number;
  /** One Redis command's round trip (HSET of a job-sized hash). */
  redis_p50_ms: number;
  /** A 10.5 kB report put into the file report store the workers use (temp file, fsync, rename). */
  report_write_p50_ms: number;
  /**
   * The serial sum at 1 in flight: the job's record (Redis), the confirmed publish, the
   * delivery, the report written, the final state stored before the ack (Redis). Stage updates,
   * HTTP and the socket event come on top.
   */
  required_p50_ms: number;
}

/** The idle time before each timed run of the "after a gap" floors. */
export const IDLE_GAP_MS = 5;

/** The median time of `work`, run `n` times (each after `gapMs` of idleness) after 10 untimed warm-ups. */
async function medianOf(n: number, work: () => Promise<unknown>, gapMs = 0): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    const t = performance.now();
    await work();
    if (i >= 10) times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Measures each round trip `n` times (after a few warm-ups) and returns the medians; with `gapMs`,
 * each run comes after that much idleness.
 */
export async function measureFloors(opts: {
  redisUrl: string;
  rabbitUrl: string;
  n?: number;
  gapMs?: number;
}): Promise<Floors> {
  const n = opts.n ?? 200;
  const gap = opts.gapMs ?? 0;
  const queue = `bench-floor-${randomBytes(4).toString("hex")}`;
  // noDelay, as the service connects: with Nagle a publish written right after an ack waits for
  // the broker's delayed TCP ACK (~40 ms here).
  const connection = await amqplib.connect(opts.rabbitUrl, { noDelay: true });
  const redis = new Redis(opts.redisUrl, { lazyConnect: true });
  const dir = mkdtempSync(join(tmpdir(), "iris-floor-"));
  try {
    const ch = await connection.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
    const body = Buffer.from(JSON.stringify({ jobid: "00000000-0000-4000-8000-000000000000", input: { a: 1 } }));
    const publish = () =>
      new Promise<void>((resolve, reject) =>
        ch.sendToQueue(queue, body, { persistent: true, contentType: "application/json" }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    const confirm = await medianOf(n, publish, gap);
    await ch.purgeQueue(queue);

    // Delivery: publish, and time until the consumer has the message (acked at once, as a worker
    // would after its work).
    const consumer = await connection.createChannel();
    await consumer.prefetch(1);
    let arrived: (() => void) | null = null;
    await consumer.consume(queue, (msg) => {
      if (!msg) return;
      consumer.ack(msg);
      arrived?.();
    });
    const deliver = await medianOf(n, () => {
      const got = new Promise<void>((resolve) => (arrived = resolve));
      ch.sendToQueue(queue, body, { persistent: true });
      return got;
    }, gap);
    await consumer.close();

    await redis.connect();
    const key = `bench-floor:${queue}`;
    const fields = { state: "SUCCESS", progress: "1", stage: "done", updated_at: new Date().toISOString(), result: "setosa" };
    const redisWrite = await medianOf(n, () => redis.hset(key, fields), gap);
    await redis.del(key);

    const reports = createFileReportStore(dir);
    const report = randomBytes(10_500);
    const floors = {
      confirm_p50_ms: confirm,
      deliver_p50_ms: deliver,
      redis_p50_ms: redisWrite,
      report_write_p50_ms: await medianOf(n, () => reports.put(randomUUID(), report), gap),
    };
    return {
      ...floors,
      required_p50_ms:
        2 * floors.redis_p50_ms + floors.confirm_p50_ms + floors.deliver_p50_ms + floors.report_write_p50_ms,
    };
  } finally {
    await connection
      .createChannel()
      .then((c) => c.deleteQueue(queue))
      .catch(() => {});
    await connection.close().catch(() => {});
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { acquireServices } = await import("./stack.js");
  const services = acquireServices();
  try {
    for (let i = 0; i < Number(process.env.ROUNDS ?? 3); i++) {
      for (const gapMs of [0, IDLE_GAP_MS]) {
        const f = await measureFloors({ ...services, gapMs, n: gapMs ? 100 : 200 });
        const label = gapMs ? `after ${gapMs} ms idle:` : "back to back:";
        console.log(label, Object.entries(f).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "));
      }
    }
  } finally {
    services.release();
  }
}
