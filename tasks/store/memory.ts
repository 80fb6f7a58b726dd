import { EventEmitter } from "node:events";
import { TERMINAL_STATES } from "../contract.js";
import {
  RECENT_JOBS_KEPT,
  TOMBSTONE_FACTOR,
  type BatchResults,
  type JobRecord,
  type JobStore,
  type JobUpdate,
  type UpdateOutcome,
} from "./types.js";

/** Options for the memory store; the lifetimes match createRedisStore's. */
export interface MemoryStoreOptions {
  ttlSeconds: number;
  /** How long an expired job answers 410 (counted from its creation); default 7 × ttlSeconds. */
  tombstoneSeconds?: number;
  /** How often expired entries are swept while the store is idle; default 5 s. */
  sweepIntervalMs?: number;
  /**
   * The wall clock for the records' timestamps. A test's clock drives the lifetimes too; without
   * one they are counted on a monotonic clock, so a wall clock that steps (NTP, a resumed VM)
   * neither expires a job early nor keeps it late.
   */
  now?: () => Date;
}

/** The memory store, plus its entry counts per map (test-only: to see that memory is bounded). */
export type MemoryJobStore = JobStore & {
  size(): Record<"jobs" | "tombstones" | "batches" | "idempotencyKeys" | "recentIds", number>;
};

/** Expired entries one write removes from each map: bounded work per call, faster than writes add. */
const SWEEP_PER_WRITE = 16;
/** Expired entries one idle sweep removes from each map (bounded, so it never stalls the loop). */
const SWEEP_PER_TICK = 10_000;

/**
 * In-memory JobStore for the embedded `npm start` and fast tests; same rules and lifetimes as
 * redis.ts. Every map holds entries of one lifetime and an entry whose expiry moves is re-inserted,
 * so each map is in expiry order and a sweep only pops expired entries off its front: writes
 * sweep a few, an unref'd timer sweeps the rest, and memory follows what is live.
 */
export function createMemoryStore(opts: MemoryStoreOptions): MemoryJobStore {
  const now = opts.now ?? (() => new Date());
  /** Milliseconds on the clock lifetimes are counted on. */
  const clock = opts.now ? () => opts.now!().getTime() : () => performance.now();
  const ttlMs = opts.ttlSeconds * 1000;
  const tombstoneMs = (opts.tombstoneSeconds ?? opts.ttlSeconds * TOMBSTONE_FACTOR) * 1000;
  const jobs = new Map<string, { record: JobRecord; expiresAt: number }>();
  const tombstones = new Map<string, { expiresAt: number }>();
  const batches = new Map<string, { results: BatchResults; expiresAt: number }>();
  // Confirmed keys (retention period) and claims still in progress (short-lived) apart, so each
  // map holds one lifetime and stays in expiry order.
  const idempotency = new Map<string, { value: string; expiresAt: number }>();
  const claims = new Map<string, { value: string; expiresAt: number }>();
  // Reads an entry of a TTL map, dropping it when it has expired.
  const unexpired = <T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= clock()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };
  /** Ids in creation order, capped like the Redis index; an expired job's id leaves with it. */
  const recentIds = new Set<string>();
  const events = new EventEmitter().setMaxListeners(0);

  const live = (jobid: string) => {
    const entry = unexpired(jobs, jobid);
    if (!entry) recentIds.delete(jobid);
    return entry;
  };
  /** Removes up to `limit` expired entries from the front of each map (each map is in expiry order). */
  const sweep = (limit: number) => {
    const t = clock();
    for (const map of [jobs, tombstones, batches, idempotency, claims] as Array<Map<string, { expiresAt: number }>>) {
      let removed = 0;
      for (const [k, entry] of map) {
        if (removed >= limit || entry.expiresAt > t) break;
        map.delete(k);
        if (map === jobs) recentIds.delete(k);
        removed++;
      }
    }
  };
  /** A fresh or renewed entry goes to the back, keeping its map in expiry order. */
  const put = <T>(map: Map<string, T>, k: string, entry: T) => {
    map.delete(k);
    map.set(k, entry);
  };
  const timer = setInterval(() => sweep(SWEEP_PER_TICK), opts.sweepIntervalMs ?? 5000);
  timer.unref();
  // Records are copied in and out so callers cannot mutate what is stored.
  const copy = (r: JobRecord): JobRecord => structuredClone(r);

  /** Same rules as the Redis script: final states stay, progress (with its stage) never goes back. */
  async function update(jobid: string, update: JobUpdate): Promise<UpdateOutcome | null> {
    const entry = live(jobid);
    if (!entry) return null;
    if (TERMINAL_STATES.has(entry.record.state)) return { applied: false, record: copy(entry.record) };
    const patch: JobUpdate = { ...update };
    if (patch.progress !== undefined && patch.progress < entry.record.progress) {
      delete patch.progress;
      delete patch.stage;
    }
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) (entry.record as never as Record<string, unknown>)[k] = v;
    entry.record.updated_at = now().toISOString();
    entry.record.revision = (entry.record.revision ?? 0) + 1;
    entry.expiresAt = clock() + ttlMs;
    put(jobs, jobid, entry);
    sweep(SWEEP_PER_WRITE);
    const record = copy(entry.record);
    events.emit("change", record);
    return { applied: true, record: copy(record) };
  }

  return {
    async create(record) {
      sweep(SWEEP_PER_WRITE);
      if (!live(record.jobid)) {
        recentIds.add(record.jobid);
        if (recentIds.size > RECENT_JOBS_KEPT) recentIds.delete(recentIds.values().next().value!);
      }
      const at = clock();
      put(jobs, record.jobid, { record: copy(record), expiresAt: at + ttlMs });
      put(tombstones, record.jobid, { expiresAt: at + tombstoneMs });
    },
    async get(jobid) {
      const entry = live(jobid);
      return entry ? copy(entry.record) : null;
    },
    async wasExpired(jobid) {
      return !live(jobid) && unexpired(tombstones, jobid) !== undefined;
    },
    update,
    async updateMany(jobid, updates) {
      const outcomes = [];
      for (const u of updates) outcomes.push(await update(jobid, u));
      return outcomes;
    },
    async saveBatchResults(jobid, results) {
      sweep(SWEEP_PER_WRITE);
      put(batches, jobid, { results: structuredClone(results), expiresAt: clock() + ttlMs });
    },
    async getBatchResults(jobid) {
      const entry = unexpired(batches, jobid);
      return entry ? structuredClone(entry.results) : null;
    },
    async claimIdempotencyKey(key, value, claimOpts) {
      const held = unexpired(idempotency, key) ?? unexpired(claims, key);
      if (held) return held.value;
      const forMs = Math.min(ttlMs, (claimOpts?.ttlSeconds ?? opts.ttlSeconds) * 1000);
      (forMs === ttlMs ? idempotency : claims).set(key, { value, expiresAt: clock() + forMs });
      return null;
    },
    async confirmIdempotencyKey(key, claimed, confirmed) {
      const map = unexpired(claims, key) ? claims : idempotency;
      if (unexpired(map, key)?.value !== claimed) return false;
      map.delete(key);
      idempotency.set(key, { value: confirmed, expiresAt: clock() + ttlMs });
      return true;
    },
    async releaseIdempotencyKey(key, value) {
      for (const map of [claims, idempotency]) if (unexpired(map, key)?.value === value) map.delete(key);
    },
    // An in-process emitter loses nothing, so it never reports a gap.
    async subscribe(listener) {
      events.on("change", listener);
      return async () => {
        events.off("change", listener);
      };
    },
    async recent(limit) {
      // Newest inserted first, so jobs created in the same millisecond keep submission order.
      const records = [...recentIds].reverse().flatMap((id) => {
        const entry = live(id);
        return entry ? [copy(entry.record)] : [];
      });
      // Newest first by creation time, as the Redis index orders them.
      records.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
      return records.slice(0, Math.max(0, limit));
    },
    size: () => ({
      jobs: jobs.size,
      tombstones: tombstones.size,
      batches: batches.size,
      idempotencyKeys: idempotency.size + claims.size,
      recentIds: recentIds.size,
    }),
    async ping() {},
    async close() {
      clearInterval(timer);
      events.removeAllListeners();
    },
  };
}
