import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAppConfig } from "../../app/config.js";
import { createApp } from "../../app/create-app.js";
import { webDeps } from "../../app/web-deps.js";
import { createReportStore } from "../../tasks/report-store/create.js";
import { connectServices, dependencyChecks } from "../../tasks/services.js";
import { startWorker } from "../../tasks/start-worker-process.js";
import { waitForDependencies } from "../../tasks/wait-for-dependencies.js";
import { testModel } from "./memory-app.js";
import { deleteQueues, realServices, testRedis, uniqueName } from "./services.js";
import { silentLogger } from "./silent-logger.js";

/**
 * The web app in this process on the REAL RabbitMQ and Redis (a namespace of its own), served
 * on a loopback port; a worker can be attached later. close() removes its queues and keys.
 */
export async function realApp(env: Record<string, string> = {}) {
  const { redisUrl, rabbitUrl } = realServices();
  const ns = uniqueName("api");
  const config = loadAppConfig({
    RABBITMQ_URL: rabbitUrl,
    REDIS_URL: redisUrl,
    IRIS_NAMESPACE: ns,
    RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-api-")),
    ...env,
  });
  const services = await connectServices(config, silentLogger, { name: ns });
  // connectServices returns before connecting; a test uses the services at once.
  await waitForDependencies({ checks: dependencyChecks(services), logger: silentLogger });
  const reports = await createReportStore(config);
  const deps = webDeps({ ...services, reports, config, model: testModel(), logger: silentLogger });
  const app = createApp(deps);
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const redis = testRedis();
  let worker: { close(): Promise<void> } | null = null;
  return {
    app,
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    config,
    ns,
    reports,
    store: services.store,
    queue: services.queue,
    redis,
    /** Keys this app's store holds, by kind ("job", "batch", "idem", "tomb"). */
    async keys(kind: string): Promise<string[]> {
      return redis.keys(`${ns}:${kind}:*`);
    },
    async startWorker() {
      worker ??= await startWorker({ config, services, model: testModel(), reports, logger: silentLogger });
    },
    async close() {
      await worker?.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await services.close();
      const keys = await redis.keys(`${ns}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
      await deleteQueues(`${ns}.jobs`);
      rmSync(config.RESULTS_DIR, { recursive: true, force: true });
    },
  };
}

export type RealApp = Awaited<ReturnType<typeof realApp>>;
