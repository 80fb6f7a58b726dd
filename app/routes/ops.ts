import type Router from "@koa/router";
import { createRouter } from "./router.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import { ReportStoreUnavailableError, type ReportStoreOutage } from "../../tasks/report-store/errors.js";
import type { ReportStore } from "../../tasks/report-store/types.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { AppMetrics } from "../metrics.js";

/** How long readiness waits for each dependency: an orchestrator's probe must never hang. */
const READY_TIMEOUT_MS = 1500;

/** Resolves "ok", or why not: "unreachable" when `check` fails or takes longer than `ms`, or the report store's reason. */
async function probe(check: () => Promise<unknown>, ms: number): Promise<"ok" | ReportStoreOutage> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), ms);
  });
  try {
    await Promise.race([check(), deadline]);
    return "ok";
  } catch (err) {
    return err instanceof ReportStoreUnavailableError ? err.reason : "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

const NAMES = { rabbitmq: "RabbitMQ", redis: "Redis", report_store: "the report store" } as const;

/** GET /healthz (alive), /readyz (RabbitMQ, Redis and a remote report store answer), /metrics (Prometheus). */
export function opsRoutes(deps: {
  queue: JobQueue;
  store: JobStore;
  reports?: Pick<ReportStore, "name" | "ping">;
  metrics: AppMetrics;
  readyTimeoutMs?: number;
}): Router {
  const router = createRouter();
  const timeout = deps.readyTimeoutMs ?? READY_TIMEOUT_MS;

  // Liveness: the process answers. Deliberately no dependency here, so a broker outage makes the
  // web unready (taken out of rotation), not dead (restarted for nothing).
  router.get("/healthz", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { status: "ok" };
  });

  router.get("/readyz", async (ctx) => {
    const pingReports = deps.reports?.ping?.bind(deps.reports);
    const [rabbitmq, redis, reports] = await Promise.all([
      probe(() => deps.queue.stats(), timeout),
      probe(() => deps.store.ping(), timeout),
      pingReports ? probe(pingReports, timeout) : null,
    ]);
    // A report store in a directory is no service that can be away: only S3 is asked.
    const checks: Partial<Record<keyof typeof NAMES, string>> = { rabbitmq, redis };
    if (reports) checks.report_store = reports;
    const down = (Object.keys(checks) as Array<keyof typeof checks>).filter((k) => checks[k] !== "ok");
    ctx.set("Cache-Control", "no-store");
    if (down.length === 0) {
      ctx.body = { status: "ready", checks };
      return;
    }
    ctx.status = 503;
    ctx.set("Retry-After", "5");
    const unreachable = down.filter((k) => checks[k] === "unreachable").map((k) => NAMES[k]);
    const problems = unreachable.length
      ? [`${unreachable.join(" and ")} ${unreachable.length > 1 ? "are" : "is"} not reachable`]
      : [];
    if (reports === "bucket missing") problems.push(`the report store's bucket (${deps.reports!.name}) does not exist`);
    ctx.body = { status: "not ready", error: `Not ready: ${problems.join("; ")}.`, checks };
  });

  router.get("/metrics", async (ctx) => {
    const body = await deps.metrics.render();
    ctx.set("Cache-Control", "no-store");
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = body;
  });

  return router;
}
