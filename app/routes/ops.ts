import type Router from "@koa/router";
import { createRouter } from "./router.js";
import type { JobQueue } from "../../tasks/queue/types.js";
import type { JobStore } from "../../tasks/store/types.js";
import type { AppMetrics } from "../metrics.js";

/** How long readiness waits for each dependency: an orchestrator's probe must never hang. */
const READY_TIMEOUT_MS = 1500;

/** Resolves "ok", or "unreachable" when `check` fails or takes longer than `ms`. */
async function probe(check: () => Promise<unknown>, ms: number): Promise<"ok" | "unreachable"> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), ms);
  });
  try {
    await Promise.race([check(), deadline]);
    return "ok";
  } catch {
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

const NAMES = { rabbitmq: "RabbitMQ", redis: "Redis" } as const;

/** GET /healthz (alive), /readyz (RabbitMQ and Redis answer), /metrics (Prometheus). */
export function opsRoutes(deps: {
  queue: JobQueue;
  store: JobStore;
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
    const [rabbitmq, redis] = await Promise.all([
      probe(() => deps.queue.stats(), timeout),
      probe(() => deps.store.ping(), timeout),
    ]);
    const checks = { rabbitmq, redis };
    const down = (Object.keys(checks) as Array<keyof typeof checks>).filter((k) => checks[k] !== "ok");
    ctx.set("Cache-Control", "no-store");
    if (down.length === 0) {
      ctx.body = { status: "ready", checks };
      return;
    }
    ctx.status = 503;
    ctx.set("Retry-After", "5");
    const names = down.map((k) => NAMES[k]).join(" and ");
    ctx.body = {
      status: "not ready",
      error: `Not ready: ${names} ${down.length > 1 ? "are" : "is"} not reachable.`,
      checks,
    };
  });

  router.get("/metrics", async (ctx) => {
    const body = await deps.metrics.render();
    ctx.set("Cache-Control", "no-store");
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = body;
  });

  return router;
}
