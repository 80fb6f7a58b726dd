import type Router from "@koa/router";
import { createRouter } from "./router.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import {
  ReportStoreError,
  ReportStoreUnavailableError,
  type ReportStoreOutage,
} from "../../tasks/report-store/errors.js";
import type { ReportStore } from "../../tasks/report-store/types.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { AppMetrics } from "../metrics.js";

/** How long readiness waits for each dependency: an orchestrator's probe must never hang. */
const READY_TIMEOUT_MS = 1500;

/** What a check found; `answer` is what a refusing report store said. */
type Probed = { state: "ok" | "refused" | ReportStoreOutage; answer?: string | undefined };

/**
 * Resolves "ok", or why not: the report store's reason, "refused" when the store answered but
 * refused (credentials, policy: it is there, so "unreachable" would send the operator after a
 * network fault), and "unreachable" when `check` fails otherwise or takes longer than `ms`.
 */
async function probe(check: () => Promise<unknown>, ms: number): Promise<Probed> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), ms);
  });
  try {
    await Promise.race([check(), deadline]);
    return { state: "ok" };
  } catch (err) {
    if (err instanceof ReportStoreUnavailableError) return { state: err.reason };
    if (err instanceof ReportStoreError) return { state: "refused", answer: err.answer };
    return { state: "unreachable" };
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
    const checks: Partial<Record<keyof typeof NAMES, string>> = { rabbitmq: rabbitmq.state, redis: redis.state };
    if (reports) checks.report_store = reports.state;
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
    if (reports?.state === "bucket missing")
      problems.push(`the report store's bucket (${deps.reports!.name}) does not exist`);
    if (reports?.state === "refused") {
      const said = reports.answer ? ` (${reports.answer})` : "";
      problems.push(
        `the report store (${deps.reports!.name}) refused the service's requests${said}; check its credentials and the bucket's policy`,
      );
    }
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
