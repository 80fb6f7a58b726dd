import amqplib from "amqplib";
import { Redis, type RedisOptions } from "ioredis";
import { redisTarget, type RedisTarget, type TaskConfig } from "./config.js";
import { redisConfigFault, watchRabbit, watchRedis } from "./connection-watch.js";
import type { Logger } from "./logger.js";
import { createMemoryJobMetrics, createRedisJobMetrics, type JobMetrics } from "./metrics.js";
import { createMemoryQueue } from "./queue/memory.js";
import { createEndpointRotation, splitAmqpUrls } from "./queue/endpoints.js";
import { createRabbitQueue } from "./queue/rabbitmq.js";
import type { JobQueue } from "./queue/types.js";
import { createMemoryStore } from "./store/memory.js";
import { createRedisStore } from "./store/redis.js";
import type { JobStore } from "./store/types.js";
import type { ReportStore } from "./report-store/types.js";
import type { DependencyCheck } from "./wait-for-dependencies.js";

/** The adapters an entry file runs on, and how to let go of them. */
export interface Services {
  queue: JobQueue;
  store: JobStore;
  /** Job counters and histograms shared by the deployment's processes (Redis, or memory). */
  jobMetrics: JobMetrics;
  /** "rabbitmq+redis" or "memory". */
  kind: string;
  /** Where the web's rate limit counts, shared by every web process (Redis); absent in memory mode. */
  rateLimitStore?: RateLimitStore;
  close(): Promise<void>;
}

declare const rateLimitStore: unique symbol;
/**
 * A Redis connection handed over as a rate limiter's store (rate-limiter-flexible's `storeClient`)
 * and as nothing else: the web counts submissions in it, and this type lets it do nothing more.
 */
export type RateLimitStore = { readonly [rateLimitStore]: true };

/** `client` as a RateLimitStore. */
export function asRateLimitStore(client: Redis): RateLimitStore {
  return client as unknown as RateLimitStore;
}

/** How long closing waits for Redis to take the last writes and QUIT before dropping the connections. */
const CLOSE_GRACE_MS = 2000;

/** Waits for `work`, but no longer than `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The in-memory adapters (embedded mode and fast tests). */
export function memoryServices(config: Pick<TaskConfig, "RESULT_TTL_SECONDS" | "JOB_MAX_ATTEMPTS">): Services {
  const queue = createMemoryQueue({ maxAttempts: config.JOB_MAX_ATTEMPTS });
  const store = createMemoryStore({ ttlSeconds: config.RESULT_TTL_SECONDS });
  return { queue, store, jobMetrics: createMemoryJobMetrics(), kind: "memory", close: async () => Promise.all([queue.close(), store.close()]).then(() => {}) };
}

/**
 * How long a command may wait for Redis, queued while disconnected or sent to a server that does
 * not answer (hung, SIGSTOPped, a dropped network path), before it fails as an outage: a request
 * gets its 503 within a few seconds and a worker knows to hold its job.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 1500;

/**
 * Makes a Redis client that reconnects by itself and logs its state changes. A `subscriber`
 * connection gets no command timeout: it only (re)subscribes, ioredis re-sends SUBSCRIBE by itself
 * after every reconnect (a timed-out one would reject where no caller waits), and a hung server
 * delays messages, which a command timeout could not bring back anyway.
 */
export function connectRedis(
  to: RedisTarget | string,
  logger: Logger,
  name: string,
  opts: { subscriber?: boolean } = {},
): Redis {
  const target: Omit<RedisTarget, "waitReplicas"> = typeof to === "string" ? { url: to } : to;
  const options: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
    // Commands issued in one turn of the event loop (the stage writes of the jobs a worker holds,
    // the status reads of many requests) go out as one pipeline: one write, one read.
    ...(opts.subscriber ? {} : { commandTimeout: REDIS_COMMAND_TIMEOUT_MS, enableAutoPipelining: true }),
  };
  if (target.sentinels) {
    // ioredis asks the sentinels for the primary at every (re)connect, and with failoverDetector
    // also hears their +switch-master, so it moves to a promoted replica without waiting for the
    // old primary's connection to time out.
    Object.assign(options, {
      sentinels: target.sentinels,
      name: target.sentinelName,
      failoverDetector: true,
      sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
    } satisfies RedisOptions);
  }
  const client = target.url ? new Redis(target.url, options) : new Redis(options);
  watchRedis(client, { logger, name });
  return client;
}

/**
 * The entry files' one place that opens real connections (RabbitMQ with amqplib's recovery,
 * two Redis connections: commands and subscriptions). Everything else receives them.
 *
 * Returns at once, before anything is connected: the connections are made in the background and
 * retried forever (start in any order), and the queue and store answer QueueUnavailableError /
 * StoreUnavailableError meanwhile. `dependencyChecks(services)` tells when they answer. A fault
 * retrying cannot fix (a wrong password) goes to `onFatal`; the entry files exit on it.
 */
export async function connectServices(
  config: TaskConfig,
  logger: Logger,
  opts: { name: string; confirmTimeoutMs?: number; onFatal?: (message: string) => void },
): Promise<Services> {
  const redis = redisTarget(config);
  if (!config.RABBITMQ_URL || !redis) {
    throw new Error("connectServices needs both RABBITMQ_URL and REDIS_URL (or REDIS_SENTINELS)");
  }
  const onFatal = opts.onFatal ?? ((message: string) => logger.error(message));
  // waitForConnect: false resolves with the recovering connection before the first attempt (amqplib
  // defers it with setImmediate), so the listeners below see every event, the first included.
  const nodes = createEndpointRotation(splitAmqpUrls(config.RABBITMQ_URL));
  const connection = await amqplib.connect(nodes.endpoint, {
    // Nagle off (amqplib leaves it on): a small frame written while an earlier one is unacknowledged
    // (a publish after an ack, an ack after an ack) would wait for the broker's delayed ACK.
    noDelay: true,
    clientProperties: { connection_name: opts.name },
    recovery: {
      initialDelay: 200,
      maxDelay: 5000,
      maxRetries: Infinity,
      initialMaxRetries: Infinity,
      waitForConnect: false,
    },
  });
  watchRabbit(connection, { logger, url: nodes.current, onFatal });
  // A cluster: the attempt after a failed one, or after losing the node, dials the next node.
  // Registered after watchRabbit's listeners, so their log lines name the node that failed.
  connection.on("connect-failed", nodes.advance);
  connection.on("disconnect", nodes.advance);
  const queue = createRabbitQueue({
    connection,
    queue: `${config.IRIS_NAMESPACE}.jobs`,
    maxAttempts: config.JOB_MAX_ATTEMPTS,
    confirmTimeoutMs: opts.confirmTimeoutMs,
    startsConnected: false,
  });
  queue.on("warn", (message: string, err?: Error) => logger.warn({ err: err?.message }, message));
  queue.on("info", (message: string) => logger.info(message));
  const client = connectRedis(redis, logger, `${opts.name}-cmd`);
  const subscriber = connectRedis(redis, logger, `${opts.name}-sub`, { subscriber: true });
  const store = createRedisStore({
    client,
    subscriber,
    ttlSeconds: config.RESULT_TTL_SECONDS,
    prefix: config.IRIS_NAMESPACE,
    waitReplicas: redis.waitReplicas,
    onReplicas: ({ short, confirmed, wanted }) =>
      short
        ? logger.warn({ confirmed, wanted }, "fewer Redis replicas than REDIS_WAIT_REPLICAS confirm final states; going on without them, trying again every 5 s")
        : logger.info({ confirmed, wanted }, "Redis replicas confirm final states again"),
  });
  const jobMetrics = createRedisJobMetrics({ client, prefix: config.IRIS_NAMESPACE });
  for (const c of [client, subscriber]) {
    c.on("error", (err: Error) => {
      const fault = redisConfigFault(err);
      if (fault) onFatal(fault);
    });
  }
  return {
    queue,
    store,
    jobMetrics,
    kind: "rabbitmq+redis",
    rateLimitStore: asRateLimitStore(client),
    async close() {
      await queue.close();
      // Bounded: with Redis away, a write (and QUIT) waits for a connection that may never come.
      await within(CLOSE_GRACE_MS, jobMetrics.flush().catch((err) => logger.warn({ err: (err as Error).message }, "could not write the last job metrics")));
      // QUIT is sent only on a ready connection; on one still (re)connecting it would just wait.
      if (client.status === "ready" && subscriber.status === "ready") await within(CLOSE_GRACE_MS, store.close());
      for (const c of [client, subscriber]) if (c.status !== "end") c.disconnect();
      await connection.close().catch(() => {});
    },
  };
}

/**
 * What "the services answer" means, for readiness waits: the broker (the job queue), the store and,
 * when it is a service (S3), the report store. With `changeFeed` (the web's socket.io relay), Redis
 * counts only once that feed is live too.
 */
export function dependencyChecks(
  services: Pick<Services, "queue" | "store">,
  opts: { changeFeed?: Promise<void>; reports?: Pick<ReportStore, "ping"> } = {},
): DependencyCheck[] {
  const checks: DependencyCheck[] = [
    { name: "RabbitMQ", check: () => services.queue.stats() },
    { name: "Redis", check: () => Promise.all([services.store.ping(), opts.changeFeed]) },
  ];
  const pingReports = opts.reports?.ping?.bind(opts.reports);
  if (pingReports) checks.push({ name: "the report store", check: pingReports });
  return checks;
}
