import type { JobState, Measurements, Stage } from "../contract.js";

/** Everything kept about one job (one Redis hash). */
export interface JobRecord {
  jobid: string;
  state: JobState;
  progress: number;
  stage: Stage;
  /** A single job's measurements (a batch's rows travel in its message and its results). */
  input?: Measurements;
  /** A batch job's row count. */
  batch_size?: number;
  /** A finished batch's count of rows per predicted species. */
  summary?: Record<string, number>;
  result?: string;
  probabilities?: Record<string, number>;
  /** File name of the PDF inside RESULTS_DIR. */
  report?: string;
  error?: string;
  /** Deliveries the worker has started. */
  attempts: number;
  model_version?: string;
  /**
   * How many changes the store has applied to the job (absent: none yet). Set by the store, never by
   * an update; orders two reads of one job exactly (app/job-cache.ts keeps the newer).
   */
  revision?: number;
  created_at: string;
  updated_at: string;
}

/** A finished batch's rows, kept beside the job's hash with the same TTL. One number array per row. */
export interface BatchResults {
  classes: string[];
  /** Per row: the four measurements (FEATURES order), the predicted class index, one probability per class. */
  rows: number[][];
}

/** The fields a worker or the web process may change. */
export type JobUpdate = Partial<Omit<JobRecord, "jobid" | "input" | "revision" | "created_at" | "updated_at">>;

/** What an update did: the record afterwards, and whether the change was applied. */
export interface UpdateOutcome {
  record: JobRecord;
  /** false when the job was already final (first writer wins). */
  applied: boolean;
}

/** How many job ids the recent-jobs index keeps. */
export const RECENT_JOBS_KEPT = 1000;

/** A tombstone's default lifetime, in TTLs: 410 Gone outlasts the data, then 404. */
export const TOMBSTONE_FACTOR = 7;

/** What a change feed says about itself, besides the changes. */
export interface FeedEvents {
  /**
   * The feed may miss changes from now on: its connection dropped, or it stopped answering a
   * heartbeat (a hung server or network path). A change made before onResume may never be heard.
   */
  onGap?: () => void;
  /**
   * After a gap: every change from now on is heard again (and, after a heartbeat that came back on
   * the same connection, every change made during the gap was heard too, in order).
   */
  onResume?: () => void;
}

/** Job state with TTL and change notifications. Implementations: redis.ts, memory.ts. */
export interface JobStore {
  /** Stores a new job; its retention starts now. */
  create(record: JobRecord): Promise<void>;
  /** The job, or null when unknown or expired. */
  get(jobid: string): Promise<JobRecord | null>;
  /** True when the job existed but its retention is over (a tombstone outlives the record). */
  wasExpired(jobid: string): Promise<boolean>;
  /**
   * Applies `update` atomically and publishes the result. Progress never decreases (a lower
   * progress leaves progress and stage as they are); a final state is never replaced.
   * Returns null when the job is unknown. The Redis store counts an applied SUCCESS or FAILURE
   * in the job metrics within the same atomic step (see createRedisJobMetrics).
   */
  update(jobid: string, update: JobUpdate): Promise<UpdateOutcome | null>;
  /**
   * Applies several updates in order, each exactly as `update` would (each published), in one
   * round trip. Returns one outcome per update.
   */
  updateMany(jobid: string, updates: JobUpdate[]): Promise<Array<UpdateOutcome | null>>;
  /** Keeps a batch's per-row results beside the job, for the retention period. */
  saveBatchResults(jobid: string, results: BatchResults): Promise<void>;
  /** A batch's per-row results; null when none were saved or they expired. */
  getBatchResults(jobid: string): Promise<BatchResults | null>;
  /**
   * Claims an idempotency key for `value`, atomically across processes, for `ttlSeconds` (default
   * and at most the retention period). Returns null when this call claimed it, or the value the
   * key already holds (first claim wins).
   */
  claimIdempotencyKey(key: string, value: string, opts?: { ttlSeconds?: number }): Promise<string | null>;
  /**
   * Replaces the key's value `claimed` with `confirmed` and keeps it for the retention period,
   * atomically, only if it still holds `claimed`. False when it does not (expired, released, or
   * someone else's).
   */
  confirmIdempotencyKey(key: string, claimed: string, confirmed: string): Promise<boolean>;
  /** Frees a key only if it still holds `value` (a submission that failed), so a retry can succeed. */
  releaseIdempotencyKey(key: string, value: string): Promise<void>;
  /**
   * Calls `listener` with the record after every applied update, from any process. Resolves once
   * the feed is live; while the store is unreachable it keeps trying (and re-subscribes after every
   * reconnect), and rejects if the store is closed first. With `events`, it also says when the feed
   * may have missed changes (onGap) and when it hears every change again (onResume); a feed that
   * cannot lose a change (the memory store's) never calls them.
   */
  subscribe(listener: (record: JobRecord) => void, events?: FeedEvents): Promise<() => Promise<void>>;
  /**
   * The most recently created jobs that still exist, newest first, at most `limit` (for the
   * operator's dashboard; the index keeps the last RECENT_JOBS_KEPT).
   */
  recent(limit: number): Promise<JobRecord[]>;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
