import type { Context, Middleware, Next } from "koa";
import { collectDefaultMetrics, Histogram, Registry, type Metric } from "prom-client";
import type { Logger } from "../tasks/logger.js";
import type { HistogramData, JobMetrics, JobMetricsSnapshot } from "../tasks/metrics.js";
import type { JobQueue, QueueStats } from "../tasks/queue/types.js";

/** The web process's Prometheus instruments. */
export interface AppMetrics {
  registry: Registry;
  /** The deployment-wide job counts (Redis in the distributed set-up). */
  jobs: JobMetrics;
  /** Koa middleware timing every request by method, route pattern and status. */
  httpMiddleware(): Middleware;
  /** Collects queue and job numbers, then renders the exposition text. */
  render(): Promise<string>;
}

type Sample = { metricName?: string; labels?: Record<string, string | number>; value: number };

/**
 * A metric whose values come from elsewhere (the JobMetrics snapshot) but that registers like
 * any prom-client metric, so /metrics is one registry's output.
 */
function externalMetric(name: string, help: string, type: "counter" | "gauge" | "histogram", values: () => Sample[]) {
  return {
    name,
    help,
    type,
    get: async () => ({ name, help, type, values: values(), aggregator: "sum" }),
  } as unknown as Metric;
}

function histogramSamples(name: string, h: HistogramData | undefined): Sample[] {
  if (!h) return [];
  return [
    ...h.bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.cumulative[i]! })),
    { metricName: `${name}_bucket`, labels: { le: "+Inf" }, value: h.count },
    { metricName: `${name}_sum`, value: h.sum },
    { metricName: `${name}_count`, value: h.count },
  ];
}

/**
 * Builds the registry: HTTP latency (this process), queue depth and consumers (asked of the
 * broker at scrape time), and the job counters and histograms every process records into
 * `jobs`. `processMetrics` adds Node's default process metrics (entry files turn it on).
 */
export function createAppMetrics(opts: {
  queue: JobQueue;
  jobs: JobMetrics;
  logger: Logger;
  processMetrics?: boolean;
}): AppMetrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry });

  const http = new Histogram({
    name: "iris_http_request_duration_seconds",
    help: "HTTP request duration by method, route pattern and status code.",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Filled at each scrape; null (no sample at all, rather than a stale or made-up 0) when the
  // broker or the metrics store did not answer.
  let stats: QueueStats | null = null;
  let latest: JobMetricsSnapshot | null = null;
  const gauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
    registry.registerMetric(externalMetric(name, help, "gauge", () => (stats ? [{ value: pick(stats) }] : [])));
  gauge(
    "iris_queue_depth",
    "Jobs waiting in the queue (ready, not yet delivered), asked of the broker at scrape time.",
    (s) => s.messages,
  );
  gauge("iris_queue_consumers", "Consumers (worker channels) attached to the job queue.", (s) => s.consumers);
  const counter = (name: string, help: string, pick: (s: JobMetricsSnapshot) => number) =>
    registry.registerMetric(externalMetric(name, help, "counter", () => (latest ? [{ value: pick(latest) }] : [])));
  counter("iris_jobs_submitted_total", "Jobs accepted (broker-confirmed), all web processes.", (s) => s.submitted);
  counter("iris_jobs_succeeded_total", "Jobs that ended in SUCCESS, counted with the final state.", (s) => s.succeeded);
  counter("iris_jobs_failed_total", "Jobs that ended in FAILURE, counted with the final state.", (s) => s.failed);
  registry.registerMetric(
    externalMetric("iris_job_duration_seconds", "Run time of the attempt that finished a job.", "histogram", () =>
      histogramSamples("iris_job_duration_seconds", latest?.duration),
    ),
  );
  registry.registerMetric(
    externalMetric(
      "iris_job_queue_wait_seconds",
      "Time from submission to a worker starting the job.",
      "histogram",
      () => histogramSamples("iris_job_queue_wait_seconds", latest?.queueWait),
    ),
  );

  return {
    registry,
    jobs: opts.jobs,
    httpMiddleware() {
      return async function timeRequest(ctx: Context, next: Next) {
        const end = http.startTimer();
        try {
          await next();
        } finally {
          // The route pattern (/jobs/:id), never the raw path: ids would explode the label set.
          const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
          const route = matched ? String(matched) : ctx.status < 400 ? "static" : "unmatched";
          end({ method: ctx.method, route, status_code: ctx.status });
        }
      };
    },
    async render() {
      const [queueStats, snapshot] = await Promise.all([
        opts.queue.stats().catch(() => null),
        opts.jobs.snapshot().catch((err) => {
          opts.logger.warn({ err: (err as Error).message }, "could not read job metrics");
          return null;
        }),
      ]);
      stats = queueStats;
      latest = snapshot;
      return registry.metrics();
    },
  };
}
