import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../errors.js";
import { FINISHED_SLOT_TTL_SECONDS, redisMetricsKeys } from "../metrics.js";
import { decodeFlat, decodeHash, encodeFields } from "./codec.js";
import { subscribeFeed, type FeedHeartbeat } from "./redis-feed.js";
import { isStoreOutage } from "./outage-errors.js";
import {
  RECENT_JOBS_KEPT,
  TOMBSTONE_FACTOR,
  type BatchResults,
  type JobRecord,
  type JobStore,
  type JobUpdate,
  type UpdateOutcome,
} from "./types.js";

/**
 * One Lua call per update: apply unless final, keep progress monotonic, count the revision, refresh the TTL,
 * publish the whole record, and when the update makes the job SUCCESS or FAILURE count it in
 * the job metrics (tasks/metrics.ts reads them). Atomic, so two workers racing on a redelivered
 * job cannot interleave, a final state and its count are written together or not at all (a
 * killed worker can neither lose nor double a count), and one round trip per stage.
 * KEYS[1] job hash · KEYS[2] metrics hash · KEYS[3] finished-in-this-slot counter
 * ARGV[1] ttl s · ARGV[2] channel · ARGV[3] now · ARGV[4] slot counter ttl s · ARGV[5..] field/value pairs
 */
const UPDATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'SUCCESS' or state == 'FAILURE' or state == 'REVOKED' then
  return {0, redis.call('HGETALL', KEYS[1])}
end
local current = tonumber(redis.call('HGET', KEYS[1], 'progress') or '0')
local lower = false
for i = 5, #ARGV, 2 do
  if ARGV[i] == 'progress' and tonumber(ARGV[i + 1]) < current then lower = true end
end
for i = 5, #ARGV, 2 do
  local f = ARGV[i]
  if not (lower and (f == 'progress' or f == 'stage')) then
    redis.call('HSET', KEYS[1], f, ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'revision', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
local final = redis.call('HGET', KEYS[1], 'state')
if final == 'SUCCESS' or final == 'FAILURE' then
  redis.call('HINCRBY', KEYS[2], final == 'SUCCESS' and 'succeeded' or 'failed', 1)
  redis.call('INCRBY', KEYS[3], 1)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
local all = redis.call('HGETALL', KEYS[1])
redis.call('PUBLISH', ARGV[2], cjson.encode(all))
return {1, all}
`;

/** Deletes KEYS[1] only while it still holds ARGV[1]: a claimer never frees someone else's claim. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Sets KEYS[1] to ARGV[2] for ARGV[3] s only while it still holds ARGV[1]: a claim becomes final once. */
const CONFIRM_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
`;

/** Options for the Redis store. `prefix` isolates tests and deployments. */
export interface RedisStoreOptions {
  /** Commands client. */
  client: Redis;
  /** A second connection for SUBSCRIBE (a subscribed connection can do nothing else). */
  subscriber?: Redis;
  ttlSeconds: number;
  /** How long an expired job answers 410 (counted from its creation); default 7 × ttlSeconds. */
  tombstoneSeconds?: number;
  prefix?: string;
  now?: () => Date;
  /** How the change feed notices a hung connection (redis-feed.ts). */
  feedHeartbeat?: FeedHeartbeat;
  /**
   * Replicas that must hold a final state (SUCCESS, FAILURE or REVOKED) before `update` returns: Redis WAIT,
   * up to WAIT_REPLICAS_MS. 0 (default) waits for none.
   */
  waitReplicas?: number;
  /**
   * Told when fewer replicas than `waitReplicas` confirm a final state in time (`short`), and when
   * they confirm again.
   */
  onReplicas?: (info: { short: boolean; confirmed: number; wanted: number }) => void;
}

/** How long a final state waits for its replicas (REDIS_WAIT_REPLICAS) before going on without them. */
export const WAIT_REPLICAS_MS = 1000;
/**
 * After replicas fell short, final states go on without waiting for this long before the next
 * try. WAIT blocks its connection, so waiting out every final state while no replica is there
 * (the one left after a failover, say) would let one job finish per second per process.
 */
export const REPLICAS_RETRY_MS = 5000;

/** JobStore on Redis: one hash per job with a TTL, every change PUBLISHed. */
export function createRedisStore(opts: RedisStoreOptions): JobStore {
  const { client, subscriber, ttlSeconds } = opts;
  const tombstoneSeconds = opts.tombstoneSeconds ?? ttlSeconds * TOMBSTONE_FACTOR;
  const prefix = opts.prefix ?? "iris";
  const channel = `${prefix}:events`;
  const now = opts.now ?? (() => new Date());
  const waitReplicas = opts.waitReplicas ?? 0;
  /** While replicas are short (see REPLICAS_RETRY_MS): when to try WAIT again; 0 = not short. */
  let replicasShortUntil = 0;
  const key = (id: string) => `${prefix}:job:${id}`;
  const tomb = (id: string) => `${prefix}:tomb:${id}`;
  const batch = (id: string) => `${prefix}:batch:${id}`;
  // Hashed: a client's key can be any length and any bytes; the Redis key stays short and plain.
  const idem = (k: string) => `${prefix}:idem:${createHash("sha256").update(k).digest("hex")}`;
  /** Sorted set of job ids scored by creation time, capped at RECENT_JOBS_KEPT. */
  const recentKey = `${prefix}:recent`;
  const metricsKeys = redisMetricsKeys(prefix);
  client.defineCommand("irisUpdate", { numberOfKeys: 3, lua: UPDATE_SCRIPT });
  client.defineCommand("irisRelease", { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  client.defineCommand("irisConfirm", { numberOfKeys: 1, lua: CONFIRM_SCRIPT });
  /** The irisUpdate arguments (keys, then argv) for one update, at the current time. */
  const updateArgs = (id: string, update: JobUpdate): string[] => {
    const at = now();
    return [
      key(id),
      metricsKeys.hash,
      metricsKeys.finishedSlot(at.getTime()),
      String(ttlSeconds),
      channel,
      at.toISOString(),
      String(FINISHED_SLOT_TTL_SECONDS),
      ...encodeFields(update),
    ];
  };
  const runUpdate = (id: string, update: JobUpdate) =>
    (client as unknown as Record<string, (...a: string[]) => Promise<[number, string[]] | null>>).irisUpdate!(
      ...updateArgs(id, update),
    );

  const store: JobStore = {
    async create(record) {
      await client
        .multi()
        .hset(key(record.jobid), ...encodeFields(record))
        .expire(key(record.jobid), ttlSeconds)
        .set(tomb(record.jobid), "1", "EX", tombstoneSeconds)
        .zadd(recentKey, Date.parse(record.created_at) || now().getTime(), record.jobid)
        .zremrangebyrank(recentKey, 0, -(RECENT_JOBS_KEPT + 1))
        .expire(recentKey, ttlSeconds)
        .exec();
    },
    async get(jobid) {
      return decodeHash(await client.hgetall(key(jobid)));
    },
    async wasExpired(jobid) {
      const [hash, tombstone] = await Promise.all([client.exists(key(jobid)), client.exists(tomb(jobid))]);
      return hash === 0 && tombstone === 1;
    },
    async update(jobid, update: JobUpdate): Promise<UpdateOutcome | null> {
      const reply = await runUpdate(jobid, update);
      if (!reply) return null;
      const outcome = { applied: reply[0] === 1, record: decodeFlat(reply[1])! };
      // A cancellation too: lost in a failover, the job would run after all.
      const final = update.state === "SUCCESS" || update.state === "FAILURE" || update.state === "REVOKED";
      if (outcome.applied && final && waitReplicas > 0 && now().getTime() >= replicasShortUntil) {
        // Before the worker acknowledges the message: a failover to a replica that never got this
        // write would otherwise leave the job unfinished with no message left to finish it.
        const confirmed = await client.wait(waitReplicas, WAIT_REPLICAS_MS);
        const short = confirmed < waitReplicas;
        if (short !== replicasShortUntil > 0) opts.onReplicas?.({ short, confirmed, wanted: waitReplicas });
        replicasShortUntil = short ? now().getTime() + REPLICAS_RETRY_MS : 0;
      }
      return outcome;
    },
    async updateMany(jobid, updates) {
      // One pipeline: one write and one read for all of them; Redis runs them in order.
      const pipeline = client.pipeline() as unknown as Record<string, (...a: string[]) => unknown> & {
        exec(): Promise<Array<[Error | null, [number, string[]] | null]> | null>;
      };
      for (const u of updates) pipeline.irisUpdate!(...updateArgs(jobid, u));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([err, reply]) => {
        if (err) throw err;
        return reply ? { applied: reply[0] === 1, record: decodeFlat(reply[1])! } : null;
      });
    },
    async saveBatchResults(jobid, results) {
      // A separate string key: stage updates never re-encode the (up to 10,000) rows.
      await client.set(batch(jobid), JSON.stringify(results), "EX", ttlSeconds);
    },
    async getBatchResults(jobid) {
      const raw = await client.get(batch(jobid));
      return raw ? (JSON.parse(raw) as BatchResults) : null;
    },
    async claimIdempotencyKey(k, value, claimOpts) {
      // SET NX GET (Redis ≥ 7): claims the key, or returns what it holds, in one atomic step.
      const forSeconds = Math.min(ttlSeconds, claimOpts?.ttlSeconds ?? ttlSeconds);
      const held = await client.set(idem(k), value, "EX", forSeconds, "NX", "GET");
      return held ?? null;
    },
    async confirmIdempotencyKey(k, claimed, confirmed) {
      const commands = client as unknown as Record<string, (...a: string[]) => Promise<number>>;
      return (await commands.irisConfirm!(idem(k), claimed, confirmed, String(ttlSeconds))) === 1;
    },
    async releaseIdempotencyKey(k, value) {
      await (client as unknown as Record<string, (...a: string[]) => Promise<number>>).irisRelease!(idem(k), value);
    },
    async subscribe(listener, events) {
      if (!subscriber) throw new Error("createRedisStore: subscribe needs a `subscriber` connection");
      return subscribeFeed({ subscriber, channel, heartbeat: opts.feedHeartbeat }, listener, events);
    },
    async recent(limit) {
      if (limit <= 0) return [];
      const ids = await client.zrevrange(recentKey, 0, limit - 1);
      if (ids.length === 0) return [];
      const pipeline = client.pipeline();
      for (const id of ids) pipeline.hgetall(key(id));
      const replies = (await pipeline.exec()) ?? [];
      return replies.flatMap(([err, hash]) => {
        const record = err ? null : decodeHash(hash as Record<string, string>);
        return record ? [record] : []; // expired jobs drop out
      });
    },
    async ping() {
      await client.ping();
    },
    async close() {
      await Promise.allSettled([client.quit(), subscriber?.quit()]);
    },
  };
  return guardConnectionErrors(store);
}

/**
 * Every way Redis can be unreachable (refused, dropped, hung past the client's commandTimeout,
 * failing over: see outage-errors.ts) becomes StoreUnavailableError: the web answers it with
 * 503 + Retry-After, and a worker holds its job until the store answers, without spending an
 * attempt.
 */
function guardConnectionErrors(store: JobStore): JobStore {
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (err) {
        if (isStoreOutage(err)) throw new StoreUnavailableError();
        throw err;
      }
    };
  // Every method but subscribe/close (which manage connections themselves) is guarded.
  const guarded = { ...store };
  for (const name of Object.keys(store) as Array<keyof JobStore>) {
    if (name === "subscribe" || name === "close") continue;
    (guarded as Record<string, unknown>)[name] = guard(store[name] as (...args: unknown[]) => Promise<unknown>);
  }
  return guarded;
}

export type { JobRecord };
