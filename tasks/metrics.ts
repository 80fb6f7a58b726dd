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
/** How long a Redis slot counter lives: past the minute it is read for. */
export const FINISHED_SLOT_TTL_SECONDS = 2 * 60;

/**
 * The Redis keys of a deployment's job metrics, shared by createRedisJobMetrics (which reads
 * them) and the Redis store's update script (which counts outcomes into them).
 */
export function redisMetricsKeys(prefix: string) {
  return {
    /** Counters, per-bucket counts and sums. */
    hash: `${prefix}:metrics`,
    /** The counter of jobs finished in the SLOT_SECONDS slot holding `ms`. */
    finishedSlot: (ms: number) => `${prefix}:metrics:finished:${slotOf(ms)}`,
  };
}

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
  /**
   * A job's final SUCCESS or FAILURE was just applied (once per job; REVOKED is not a finish).
   * The in-memory implementation counts the outcome and the last-minute slot here. The Redis one
   * only observes the duration: the Redis store counts the outcome inside the very update that
   * writes the final state, so a killed process can neither lose nor double it.
   */
  finished(outcome: "succeeded" | "failed", durationSec?: number): Promise<void>;
  queueWait(seconds: number): Promise<void>;
  snapshot(): Promise<JobMetricsSnapshot>;
  /** Writes what is recorded but not yet stored (on shutdown). */
  flush(): Promise<void>;
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

function slotOf(ms: number): number {
  return Math.floor(ms / 1000 / SLOT_SECONDS);
}

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
    async flush() {},
  };
}

/** How long recorded events wait before they are written to Redis together. */
const FLUSH_INTERVAL_MS = 200;

/**
 * Metrics in Redis: one hash `<prefix>:metrics` (counters, per-bucket counts, sums) and short-lived
 * per-slot counters for the last minute (redisMetricsKeys).
 *
 * `succeeded`, `failed` and the slot counters are written by the Redis store's update script, in
 * the same atomic step as the job's final state, and only read here: they equal the jobs Redis
 * holds in SUCCESS/FAILURE, whatever process dies when. `submitted` and the two histograms are
 * added up in memory and written in one MULTI every FLUSH_INTERVAL_MS (and before every snapshot
 * and on shutdown): a Redis round trip per event was a measurable share of every job's cost. A
 * process killed outright loses that last fraction of a second of them, so the histograms'
 * _count can lag the outcome counters by what it had not flushed.
 */
export function createRedisJobMetrics(opts: { client: Redis; prefix: string; now?: () => number }): JobMetrics {
  const { client } = opts;
  const now = opts.now ?? Date.now;
  const keys = redisMetricsKeys(opts.prefix);
  const key = keys.hash;
  let fields = new Map<string, number>(); // hash field → increment (integers and sums alike)
  let timer: NodeJS.Timeout | null = null;
  const add = (map: Map<string, number>, k: string, v: number) => map.set(k, (map.get(k) ?? 0) + v);
  const observe = (name: string, bounds: number[], v: number) => {
    add(fields, `${name}:b${bucketIndex(v, bounds)}`, 1);
    add(fields, `${name}:sum`, v);
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      void flush().catch(() => {}); // kept for the next flush; see below
    }, FLUSH_INTERVAL_MS);
    timer.unref();
  };

  async function flush(): Promise<void> {
    if (fields.size === 0) return;
    const f = fields;
    fields = new Map();
    const m = client.multi();
    for (const [field, v] of f) {
      if (Number.isInteger(v)) m.hincrby(key, field, v);
      else m.hincrbyfloat(key, field, v);
    }
    try {
      await m.exec();
    } catch (err) {
      // Redis away: put the increments back, to be written with the next flush.
      for (const [k, v] of f) add(fields, k, v);
      schedule();
      throw err;
    }
  }

  const readHistogram = (hash: Record<string, string>, name: string, bounds: number[]) =>
    toHistogram(
      bounds,
      Array.from({ length: bounds.length + 1 }, (_, i) => Number(hash[`${name}:b${i}`] ?? 0)),
      Number(hash[`${name}:sum`] ?? 0),
    );

  return {
    async submitted() {
      add(fields, "submitted", 1);
      schedule();
    },
    async finished(_outcome, durationSec) {
      // The outcome and its slot were counted with the final state (see above).
      if (durationSec === undefined) return;
      observe("duration", DURATION_BUCKETS, durationSec);
      schedule();
    },
    async queueWait(seconds) {
      observe("wait", QUEUE_WAIT_BUCKETS, seconds);
      schedule();
    },
    async snapshot() {
      await flush().catch(() => {});
      const at = now();
      const slotKeys = Array.from({ length: SLOTS_PER_MINUTE }, (_, i) =>
        keys.finishedSlot(at - i * SLOT_SECONDS * 1000),
      );
      const [hash, perSlot] = await Promise.all([client.hgetall(key), client.mget(...slotKeys)]);
      return {
        submitted: Number(hash.submitted ?? 0),
        succeeded: Number(hash.succeeded ?? 0),
        failed: Number(hash.failed ?? 0),
        duration: readHistogram(hash, "duration", DURATION_BUCKETS),
        queueWait: readHistogram(hash, "wait", QUEUE_WAIT_BUCKETS),
        finishedLastMinute: perSlot.reduce((n, v) => n + Number(v ?? 0), 0),
      };
    },
    flush,
  };
}
