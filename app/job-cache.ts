import { TERMINAL_STATES } from "../tasks/contract.js";
import type { JobRecord, JobStore } from "../tasks/store/types.js";
import { createChangeWaiters, type ChangeWatch } from "./change-waiters.js";

/** Jobs one web process remembers by default (~1 kB each). */
export const CACHED_JOBS = 10_000;
/** Requests that may wait (Prefer: wait) at once in one web process by default. */
export const MAX_WAITERS = 1000;

/** What the status routes read jobs through: the store's answers, mostly from memory. */
export interface JobCache {
  /** The job (read-only), or null when the store does not have it. */
  get(jobid: string): Promise<JobRecord | null>;
  /** The store's answer (not cached: a job asked for after its end is rare). */
  wasExpired(jobid: string): Promise<boolean>;
  /** Interest in the job's next change; null beyond maxWaiters, or while the feed is down. */
  watch(jobid: string): ChangeWatch | null;
  /** Resolves once the change feed is live (rejects if the store closed first). */
  ready: Promise<void>;
  stats(): { jobs: number; waiters: number; live: boolean };
  /** Answers every waiting request now and stops listening. */
  close(): Promise<void>;
}

interface Entry {
  record: JobRecord;
  /** The feed epoch this record is vouched for in: -1, or `epoch` when no change since is unheard. */
  verifiedIn: number;
  /** When the store's retention would end it, on the monotonic clock. */
  expiresAt: number;
}

/** Which record is further along: a final state, then progress, then the store's revision. */
function isNewer(a: JobRecord, b: JobRecord): boolean {
  const rank = (r: JobRecord) => (TERMINAL_STATES.has(r.state) ? 2 : r.progress);
  if (rank(a) !== rank(b)) return rank(a) > rank(b);
  return (a.revision ?? 0) > (b.revision ?? 0);
}

/**
 * The status routes' view of the store, served from what this process heard on the store's change
 * feed, which carries every applied change from every process. A job is served from memory only
 * while it is *verified*: the feed is live and either a message about it arrived, or a store read
 * of it started while the feed was live, with no gap since. A gap (connection dropped, heartbeat
 * unanswered) bumps the epoch, which unverifies every entry at once; until a fresh message or a
 * read made while live vouches for a job again, it is read from the store. A job not heard of is
 * read from the store (one read shared by concurrent requests). Whatever the source, a job never
 * goes back to a state older than one served (final state, then progress, then revision).
 * Bounded: at most `maxJobs` entries (least recently used out), each dropped when the store's
 * retention (TTL renewed by each change) would have ended it, a little early rather than late.
 */
export function createJobCache(opts: {
  store: JobStore;
  ttlSeconds: number;
  maxJobs?: number;
  maxWaiters?: number;
  /** Wall clock (ms) that writers' updated_at is read against; Date.now unless a test sets it. */
  now?: () => number;
  /** Monotonic clock (ms) that counts entries' lifetimes down; performance.now unless a test sets it. */
  monotonic?: () => number;
}): JobCache {
  const { store } = opts;
  const maxJobs = opts.maxJobs ?? CACHED_JOBS;
  const now = opts.now ?? Date.now;
  // A lifetime is read off the wall clock once (what is left of updated_at + TTL) and then counted
  // on the monotonic one: a step of this machine's clock (NTP, a resumed VM) neither keeps a job
  // past the store's retention nor drops one early.
  const monotonic = opts.monotonic ?? (() => performance.now());
  const ttlMs = opts.ttlSeconds * 1000;
  // Writers' clocks stamp updated_at; ending an entry early by this much covers a little skew.
  const marginMs = Math.min(ttlMs / 10, 60_000);
  const entries = new Map<string, Entry>(); // least recently used first
  const reads = new Map<string, { epoch: number; reading: Promise<JobRecord | null> }>();
  const waiters = createChangeWaiters(opts.maxWaiters ?? MAX_WAITERS);
  let epoch = 0;
  let live = false;

  /** Keeps the newer of `record` and what is held; returns what is held afterwards. */
  const remember = (record: JobRecord, verified: boolean): JobRecord => {
    const old = entries.get(record.jobid);
    const kept = old && !isNewer(record, old.record) ? old.record : Object.freeze(record);
    const t = now();
    const changedAt = Date.parse(kept.updated_at);
    const leftMs = Math.min(t, Number.isNaN(changedAt) ? t : changedAt) + ttlMs - marginMs - t;
    entries.delete(record.jobid);
    if (leftMs <= 0) return kept;
    const expiresAt = monotonic() + leftMs;
    entries.set(record.jobid, { record: kept, verifiedIn: verified ? epoch : (old?.verifiedIn ?? -1), expiresAt });
    if (entries.size > maxJobs) entries.delete(entries.keys().next().value!);
    return kept;
  };

  const onChange = (record: JobRecord) => {
    remember(record, live);
    waiters.changed(record.jobid);
  };
  const onGap = () => {
    live = false;
    epoch++;
    waiters.gap();
  };
  const onResume = () => {
    live = true;
  };
  let unsubscribe: (() => Promise<void>) | undefined;
  let closed = false;
  const ready = store.subscribe(onChange, { onGap, onResume }).then((stop) => {
    unsubscribe = stop;
    if (closed) void stop();
    else live = true;
  });
  ready.catch(() => {}); // the store closed first: every read goes to the store

  const read = (jobid: string): Promise<JobRecord | null> => {
    const shared = reads.get(jobid);
    if (shared && shared.epoch === epoch && live) return shared.reading;
    const startEpoch = epoch;
    const wasLive = live;
    const reading = store.get(jobid).then((record) => {
      if (!record) {
        entries.delete(jobid);
        return null;
      }
      return remember(record, wasLive && epoch === startEpoch);
    });
    const slot = { epoch: startEpoch, reading };
    if (wasLive) reads.set(jobid, slot);
    const done = () => void (reads.get(jobid) === slot && reads.delete(jobid));
    reading.then(done, done);
    return reading;
  };

  return {
    async get(jobid) {
      const entry = entries.get(jobid);
      if (entry && entry.expiresAt <= monotonic()) entries.delete(jobid);
      else if (entry && live && entry.verifiedIn === epoch) {
        entries.delete(jobid);
        entries.set(jobid, entry);
        return entry.record;
      }
      return read(jobid);
    },
    wasExpired: (jobid) => store.wasExpired(jobid),
    watch: (jobid) => (live && !closed ? waiters.watch(jobid) : null),
    ready,
    stats: () => ({ jobs: entries.size, waiters: waiters.size, live }),
    async close() {
      closed = true;
      live = false;
      waiters.close();
      await unsubscribe?.().catch(() => {});
    },
  };
}
