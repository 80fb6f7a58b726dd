// The round trips SPEC requires of every job, each measured alone at 1 in flight on the broker,
// Redis and disk the benchmark uses: what target (c) ("p50 at 1 in flight ≤ render + 3 ms") has to
// fit into 3 ms beside the HTTP request and the socket event. npm run bench runs it in every
// repetition; `node --import tsx scripts/bench/floors.ts` runs it alone (REDIS_URL/RABBITMQ_URL
// reuse running services, as the other probes do).
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import amqplib from "amqplib";
import { Redis } from "ioredis";
import { percentile } from "./client.js";

export interface Floors {
  /** A persistent message published to a quorum queue, until the broker's confirm. */
  confirm_p50_ms: number;
  /** The same message from publish until a consumer (prefetch 1, manual ack) receives it. */
  deliver_p50_ms: number;
  /** One Redis command's round trip (HSET of a job-sized hash). */
  redis_p50_ms: number;
  /** A 10.5 kB report written to a temp file, fsynced and renamed into place. */
  report_write_p50_ms: number;
  /**
   * The serial sum at 1 in flight: the job's record (Redis), the confirmed publish, the
   * delivery, the report written, the final state stored before the ack (Redis). Stage updates,
   * HTTP and the socket event come on top.
   */
  required_p50_ms: number;
}

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const t = performance.now();
  await work();
  return performance.now() - t;
};

/** Measures each round trip `n` times (after a few warm-ups) and returns the medians. */
export async function measureFloors(opts: { redisUrl: string; rabbitUrl: string; n?: number }): Promise<Floors> {
  const n = opts.n ?? 200;
  const warm = 10;
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
    const confirms: number[] = [];
    for (let i = 0; i < n + warm; i++) {
      const ms = await timed(publish);
      if (i >= warm) confirms.push(ms);
    }
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
    const delivers: number[] = [];
    for (let i = 0; i < n + warm; i++) {
      const got = new Promise<void>((resolve) => (arrived = resolve));
      const ms = await timed(async () => {
        ch.sendToQueue(queue, body, { persistent: true });
        await got;
      });
      if (i >= warm) delivers.push(ms);
    }
    await consumer.close();

    await redis.connect();
    const key = `bench-floor:${queue}`;
    const fields = { state: "SUCCESS", progress: "1", stage: "done", updated_at: new Date().toISOString(), result: "setosa" };
    const redisTrips: number[] = [];
    for (let i = 0; i < n + warm; i++) {
      const ms = await timed(() => redis.hset(key, fields));
      if (i >= warm) redisTrips.push(ms);
    }
    await redis.del(key);

    const report = randomBytes(10_500);
    const writes: number[] = [];
    for (let i = 0; i < n + warm; i++) {
      const ms = await timed(async () => {
        const tmp = join(dir, `.r${i}.tmp`);
        const fd = openSync(tmp, "w");
        try {
          writeSync(fd, report);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, join(dir, `r${i}.pdf`));
      });
      if (i >= warm) writes.push(ms);
    }

    const p50 = (v: number[]) => percentile(v, 50);
    const floors = {
      confirm_p50_ms: p50(confirms),
      deliver_p50_ms: p50(delivers),
      redis_p50_ms: p50(redisTrips),
      report_write_p50_ms: p50(writes),
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
      const f = await measureFloors(services);
      console.log(Object.entries(f).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", "));
    }
  } finally {
    services.release();
  }
}
