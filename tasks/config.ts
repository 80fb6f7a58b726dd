import { z } from "zod";
import { ConfigError } from "./errors.js";
import { splitAmqpUrls } from "./queue/endpoints.js";

const hasScheme = (v: string, schemes: string[]) => {
  try {
    return schemes.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

const urlWithScheme = (schemes: string[], what: string) =>
  z.string().refine((v) => hasScheme(v, schemes), `must be a ${what} URL (${schemes.map((s) => s + "//").join(" or ")}…)`);

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`);

/** Variables shared by the web and the worker processes, with the SPEC's defaults. */
export const taskConfigShape = {
  /**
   * Broker URL, or several comma-separated URLs of one cluster's nodes (connections go to one and
   * fail over to the others); unset means the in-memory queue (embedded mode only).
   */
  RABBITMQ_URL: z
    .string()
    .refine(
      (v) => splitAmqpUrls(v).length > 0 && splitAmqpUrls(v).every((u) => hasScheme(u, ["amqp:", "amqps:"])),
      "must be a RabbitMQ URL (amqp:// or amqps://…), or several separated by commas",
    )
    .optional(),
  /** Redis URL; unset means the in-memory store (embedded mode only). */
  REDIS_URL: urlWithScheme(["redis:", "rediss:"], "Redis").optional(),
  /**
   * Redis through Sentinel: comma-separated `host:port` of the sentinels, which name the current
   * primary and announce a failover. REDIS_URL is then optional and, when set, gives only the
   * credentials, database and scheme (its host and port are not used).
   */
  REDIS_SENTINELS: z
    .string()
    .transform((s, ctx) => {
      const sentinels: Array<{ host: string; port: number }> = [];
      for (const item of s.split(",").map((i) => i.trim()).filter(Boolean)) {
        const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(item);
        const port = Number(m?.[2]);
        if (m && port >= 1 && port <= 65535) sentinels.push({ host: m[1]!.replace(/^\[|\]$/g, ""), port });
        else ctx.addIssue({ code: "custom", input: item, message: `"${item}" must be host:port (a sentinel's address)` });
      }
      return sentinels;
    })
    .optional(),
  /** The primary's name as the sentinels know it (`sentinel monitor NAME …`); required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be the name the sentinels monitor (letters, digits, '.', '_', '-')")
    .optional(),
  /**
   * Replicas that must hold a job's final state (SUCCESS or FAILURE) before the worker
   * acknowledges its message (Redis WAIT): a failover then cannot take back a finished job whose
   * message is gone. Default 1 with REDIS_SENTINELS, 0 without. When fewer confirm within
   * a second (a replica down or lagging) the worker logs a warning and goes on: waiting would stop
   * every job while a replica is away.
   */
  REDIS_WAIT_REPLICAS: z.coerce
    .number({ error: "must be a whole number ≥ 0" })
    .int("must be a whole number ≥ 0")
    .min(0, "must be a whole number ≥ 0")
    .optional(),
  /** Where workers write PDFs and the web process reads them. */
  RESULTS_DIR: z.string().min(1, "must be a directory path").default("results_data"),
  /**
   * Where reports live: `file` (RESULTS_DIR on a disk every process sees) or `s3://BUCKET/PREFIX`
   * (any S3-compatible store, with the AWS_* variables below; no shared disk needed).
   */
  REPORT_STORE: z
    .string()
    .default("file")
    .transform((v, ctx): ReportStoreSetting => {
      if (v === "file") return { kind: "file" };
      const m = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(v);
      if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) {
        ctx.addIssue({ code: "custom", input: v, message: "must be file or s3://BUCKET/PREFIX (a bucket name of 3-63 lower-case letters, digits, . or -)" });
        return z.NEVER;
      }
      const prefix = (m[2] ?? "").replace(/^\/+/, "");
      return { kind: "s3", bucket: m[1]!, prefix: prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix };
    }),
  /** The S3 endpoint of a non-AWS store (MinIO, Ceph RGW, R2); set, it also means path-style addressing. */
  AWS_ENDPOINT_URL_S3: urlWithScheme(["http:", "https:"], "HTTP").optional(),
  /** Every AWS service's endpoint; AWS_ENDPOINT_URL_S3 wins for S3. */
  AWS_ENDPOINT_URL: urlWithScheme(["http:", "https:"], "HTTP").optional(),
  /** The bucket's region (us-east-1 when unset; a non-AWS store ignores it). Credentials: the SDK's AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or its other sources. */
  AWS_REGION: z.string().regex(/^[a-z0-9-]+$/, "must be a region name such as eu-west-1").default("us-east-1"),
  /** How long a job's state and PDF are kept, in seconds (24 h). */
  RESULT_TTL_SECONDS: positiveInt("a whole number of seconds greater than 0").default(86400),
  /**
   * Jobs one worker process handles at once (also its prefetch). A job's CPU work is under a
   * millisecond; with more of them in flight a worker (and the web) handle their messages in
   * fuller reads and writes, so each job costs less CPU. 16 is where that stopped paying
   * (BENCHMARKS.md, "Figures behind the code").
   */
  WORKER_CONCURRENCY: positiveInt("a whole number greater than 0").default(16),
  /**
   * Of those, batch reports one worker renders at once. A 10,000-row report peaks at ~60 MB while
   * it is rendered, so 16 at once could take a worker past 1 GB; the others wait their turn
   * (unacknowledged, so a worker that dies meanwhile loses none of them).
   */
  WORKER_BATCH_CONCURRENCY: positiveInt("a whole number greater than 0").default(2),
  /** Deliveries of one job before it is failed and dead-lettered. */
  JOB_MAX_ATTEMPTS: positiveInt("a whole number greater than 0").default(3),
  /**
   * Prefix of the queue names (`<ns>.jobs`, `<ns>.jobs.dead`) and Redis keys, so two deployments
   * (or two test runs) can share one broker and one Redis. Default `iris` gives `iris.jobs`.
   */
  IRIS_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, "must be lower-case letters, digits, - or _ (at most 41 characters)")
    .default("iris"),
  /**
   * Worker only: serve GET /healthz on this port (the image's HEALTHCHECK probes it in the worker
   * container). Unset = no HTTP server in the worker.
   */
  WORKER_HEALTH_PORT: z.coerce
    .number({ error: "must be a port number (1-65535)" })
    .int("must be a port number (1-65535)")
    .min(1, "must be a port number (1-65535)")
    .max(65535, "must be a port number (1-65535)")
    .optional(),
  /**
   * Worker only: the worker's scheduling niceness (0 = the web's, 19 = lowest). Above 0, a web
   * process on the same host goes first when the CPU is saturated, so progress events, pages and
   * admission control stay prompt while workers take the rest (a web process is one thread, so
   * it can never take more than one core from them). Each step up trades a few % of jobs/s for
   * prompter progress events (BENCHMARKS.md, "Figures behind the code"). Raising one's own
   * niceness needs no privilege.
   */
  WORKER_NICE: z.coerce
    .number({ error: "must be a whole number from 0 to 19" })
    .int("must be a whole number from 0 to 19")
    .min(0, "must be a whole number from 0 to 19")
    .max(19, "must be a whole number from 0 to 19")
    .default(10),
  /** pino level. */
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "must be one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
};

/** REPORT_STORE, parsed. */
export type ReportStoreSetting = { kind: "file" } | { kind: "s3"; bucket: string; prefix: string };


/** The rules that tie the shared variables together; both processes' schemas apply them. */
export function checkTaskConfig(
  c: { REDIS_SENTINELS?: unknown[] | undefined; REDIS_SENTINEL_NAME?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (c.REDIS_SENTINELS?.length && !c.REDIS_SENTINEL_NAME) {
    ctx.addIssue({ code: "custom", path: ["REDIS_SENTINEL_NAME"], message: "is required with REDIS_SENTINELS: the name the sentinels monitor" });
  }
  if (c.REDIS_SENTINEL_NAME && !c.REDIS_SENTINELS?.length) {
    ctx.addIssue({ code: "custom", path: ["REDIS_SENTINELS"], message: "is required with REDIS_SENTINEL_NAME: the sentinels' host:port list" });
  }
}

export const taskConfigSchema = z.object(taskConfigShape).superRefine(checkTaskConfig);
export type TaskConfig = Readonly<z.infer<typeof taskConfigSchema>>;

/** Where Redis is: one URL, or the sentinels that name the primary. */
export interface RedisTarget {
  /** Credentials, database and scheme (and, without sentinels, the address). */
  url?: string;
  sentinels?: Array<{ host: string; port: number }>;
  sentinelName?: string;
  /** Replicas that must confirm a job's final state (REDIS_WAIT_REPLICAS). */
  waitReplicas: number;
}

/** The configured Redis, or null when none is (the in-memory store). */
export function redisTarget(
  c: Pick<TaskConfig, "REDIS_URL" | "REDIS_SENTINELS" | "REDIS_SENTINEL_NAME" | "REDIS_WAIT_REPLICAS">,
): RedisTarget | null {
  if (c.REDIS_SENTINELS?.length) {
    return {
      url: c.REDIS_URL,
      sentinels: c.REDIS_SENTINELS,
      sentinelName: c.REDIS_SENTINEL_NAME,
      waitReplicas: c.REDIS_WAIT_REPLICAS ?? 1,
    };
  }
  return c.REDIS_URL ? { url: c.REDIS_URL, waitReplicas: c.REDIS_WAIT_REPLICAS ?? 0 } : null;
}

/** Parses env with `schema`; throws a ConfigError naming every bad variable. Empty strings count as unset. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  return Object.freeze(parsed.data);
}

/** The worker's configuration, validated once at start. */
export function loadConfig(env: Record<string, string | undefined> = process.env): TaskConfig {
  return parseConfig(taskConfigSchema, env);
}
