import { EventEmitter } from "node:events";
import { TERMINAL_STATES } from "../contract.js";
import { RECENT_JOBS_KEPT, type BatchResults, type JobRecord, type JobStore, type JobUpdate, type UpdateOutcome } from "./types.js";

/** In-memory JobStore for the embedded `npm start` and fast tests; same rules as redis.ts. */
export function createMemoryStore(opts: { ttlSeconds: number; now?: () => Date }): JobStore {
  const now = opts.now ?? (() => new Date());
  const ttlMs = opts.ttlSeconds * 1000;
  const jobs = new Map<string, { record: JobRecord; expiresAt: number }>();
  const tombstones = new Set<string>();
  const batches = new Map<string, { results: BatchResults; expiresAt: number }>();
  const idempotency = new Map<string, { value: string; expiresAt: number }>();
  // Reads an entry of a TTL map, dropping it when it has expired.
  const unexpired = <T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined => {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now().getTime()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };
  /** Ids in creation order, capped like the Redis index. */
  const recentIds: string[] = [];
  const events = new EventEmitter().setMaxListeners(0);

  const live = (jobid: string) => {
    const entry = jobs.get(jobid);
    if (entry && entry.expiresAt <= now().getTime()) {
      jobs.delete(jobid);
      return undefined;
    }
    return entry;
  };
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
    entry.expiresAt = now().getTime() + ttlMs;
    const record = copy(entry.record);
    events.emit("change", record);
    return { applied: true, record: copy(record) };
  }

  return {
    async create(record) {
      if (!jobs.has(record.jobid)) {
        recentIds.push(record.jobid);
        if (recentIds.length > RECENT_JOBS_KEPT) recentIds.shift();
      }
      jobs.set(record.jobid, { record: copy(record), expiresAt: now().getTime() + ttlMs });
      tombstones.add(record.jobid);
    },
    async get(jobid) {
      const entry = live(jobid);
      return entry ? copy(entry.record) : null;
    },
    async wasExpired(jobid) {
      return !live(jobid) && tombstones.has(jobid);
    },
    update,
    async updateMany(jobid, updates) {
      const outcomes = [];
      for (const u of updates) outcomes.push(await update(jobid, u));
      return outcomes;
    },
    async saveBatchResults(jobid, results) {
      batches.set(jobid, { results: structuredClone(results), expiresAt: now().getTime() + ttlMs });
    },
    async getBatchResults(jobid) {
      const entry = unexpired(batches, jobid);
      return entry ? structuredClone(entry.results) : null;
    },
    async claimIdempotencyKey(key, value, claimOpts) {
      const held = unexpired(idempotency, key);
      if (held) return held.value;
      const forMs = Math.min(ttlMs, (claimOpts?.ttlSeconds ?? opts.ttlSeconds) * 1000);
      idempotency.set(key, { value, expiresAt: now().getTime() + forMs });
      return null;
    },
    async confirmIdempotencyKey(key, claimed, confirmed) {
      if (unexpired(idempotency, key)?.value !== claimed) return false;
      idempotency.set(key, { value: confirmed, expiresAt: now().getTime() + ttlMs });
      return true;
    },
    async releaseIdempotencyKey(key, value) {
      if (unexpired(idempotency, key)?.value === value) idempotency.delete(key);
    },
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
    async ping() {},
    async close() {
      events.removeAllListeners();
    },
  };
}
