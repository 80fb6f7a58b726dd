import type { Redis } from "ioredis";

/**
 * Job metrics shared by every process of a deployment. Workers record what they finish, the web
 * records what it accepts, and the web's /metrics reads the totals: through Redis in the
 * distributed set-up (so one scrape of any web process shows the whole fleet, however many
 * workers `--scale` started, and the counts outlive a worker restart), in memory in embedded mode.
 */

/** Job run time buckets, seconds (a single report takes tens of ms; a 10,000-row batch, seconds). */
export const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Time from submission to a worker starting the job, seconds. */
export const QUEUE_WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
/** Width of the slots that "jobs per minute" is counted in. */
const SLOT_SECONDS = 5;
const SLOTS_PER_MINUTE = 60 / SLOT_SECONDS;

/** A histogram as Prometheus exposes it: cumulative counts per upper bound, plus sum and count. */
export interface HistogramData {
  bounds: number[];
  /** cumulative[i] = observations ≤ bounds[i]. */
  cumulative: number[];
  sum: number;
  count: number;
}

/** Totals for the whole deployment. */
export interface JobMetricsSnapshot {
  submitted: number;
  succeeded: number;
  failed: number;
  duration: HistogramData;
  queueWait: HistogramData;
  /** Jobs finished (succeeded or failed) in about the last minute. */
  finishedLastMinute: number;
}

/** Where job counts go. Recording never throws into the job: callers log and go on. */
export interface JobMetrics {
  submitted(): Promise<void>;
  finished(outcome: "succeeded" | "failed", durationSec?: number): Promise<void>;
  queueWait(seconds: number): Promise<void>;
  snapshot(): Promise<JobMetricsSnapshot>;
}

/** Index of the first bucket that holds `value`; bounds.length means +Inf. */
export function bucketIndex(value: number, bounds: number[]): number {
  const i = bounds.findIndex((le) => value <= le);
  return i === -1 ? bounds.length : i;
}

/** Per-bucket counts (last one is +Inf) → cumulative counts per bound. */
function toHistogram(bounds: number[], perBucket: number[], sum: number): HistogramData {
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < bounds.length; i++) cumulative.push((running += perBucket[i] ?? 0));
  return { bounds, cumulative, sum, count: running + (perBucket[bounds.length] ?? 0) };
}

const slotOf = (ms: number) => Math.floor(ms / 1000 / SLOT_SECONDS);

/** In-process metrics for the embedded mode and tests. */
export function createMemoryJobMetrics(opts: { now?: () => number } = {}): JobMetrics {
  const now = opts.now ?? Date.now;
  const counts = { submitted: 0, succeeded: 0, failed: 0 };
  const hist = (bounds: number[]) => ({ bounds, perBucket: new Array<number>(bounds.length + 1).fill(0), sum: 0 });
  const duration = hist(DURATION_BUCKETS);
  const wait = hist(QUEUE_WAIT_BUCKETS);
  const slots = new Map<number, number>();
  const observe = (h: ReturnType<typeof hist>, v: number) => {
    h.perBucket[bucketIndex(v, h.bounds)]!++;
    h.sum += v;
  };
  return {
    async submitted() {
      counts.submitted++;
    },
    async finished(outcome, durationSec) {
      counts[outcome]++;
      if (durationSec !== undefined) observe(duration, durationSec);
      const slot = slotOf(now());
      slots.set(slot, (slots.get(slot) ?? 0) + 1);
      for (const s of slots.keys()) if (s <= slot - SLOTS_PER_MINUTE) slots.delete(s);
    },
    async queueWait(seconds) {
      observe(wait, seconds);
    },
    async snapshot() {
      const current = slotOf(now());
      let finishedLastMinute = 0;
      for (const [s, n] of slots) if (s > current - SLOTS_PER_MINUTE) finishedLastMinute += n;
      return {
        ...counts,
        duration: toHistogram(duration.bounds, duration.perBucket, duration.sum),
        queueWait: toHistogram(wait.bounds, wait.perBucket, wait.sum),
        finishedLastMinute,
      };
    },
  };
}

/**
 * Metrics in Redis: one hash `<prefix>:metrics` (counters, per-bucket counts, sums) and short-lived
 * per-slot counters for the last minute. One MULTI per recorded event.
 */
export function createRedisJobMetrics(opts: { client: Redis; prefix: string; now?: () => number }): JobMetrics {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const key = `${opts.prefix}:metrics`;
  const slotKey = (slot: number) => `${opts.prefix}:metrics:finished:${slot}`;
  const observe = (m: ReturnType<Redis["multi"]>, name: string, bounds: number[], v: number) =>
    m.hincrby(key, `${name}:b${bucketIndex(v, bounds)}`, 1).hincrbyfloat(key, `${name}:sum`, v);

  const readHistogram = (hash: Record<string, string>, name: string, bounds: number[]) =>
    toHistogram(
      bounds,
      Array.from({ length: bounds.length + 1 }, (_, i) => Number(hash[`${name}:b${i}`] ?? 0)),
      Number(hash[`${name}:sum`] ?? 0),
    );

  return {
    async submitted() {
      await client.hincrby(key, "submitted", 1);
    },
    async finished(outcome, durationSec) {
      const slot = slotKey(slotOf(now()));
      const m = client
        .multi()
        .hincrby(key, outcome, 1)
        .incr(slot)
        .expire(slot, 2 * 60);
      if (durationSec !== undefined) observe(m, "duration", DURATION_BUCKETS, durationSec);
      await m.exec();
    },
    async queueWait(seconds) {
      await observe(client.multi(), "wait", QUEUE_WAIT_BUCKETS, seconds).exec();
    },
    async snapshot() {
      const current = slotOf(now());
      const slots = Array.from({ length: SLOTS_PER_MINUTE }, (_, i) => slotKey(current - i));
      const [hash, perSlot] = await Promise.all([client.hgetall(key), client.mget(...slots)]);
      return {
        submitted: Number(hash.submitted ?? 0),
        succeeded: Number(hash.succeeded ?? 0),
        failed: Number(hash.failed ?? 0),
        duration: readHistogram(hash, "duration", DURATION_BUCKETS),
        queueWait: readHistogram(hash, "wait", QUEUE_WAIT_BUCKETS),
        finishedLastMinute: perSlot.reduce((n, v) => n + Number(v ?? 0), 0),
      };
    },
  };
}
