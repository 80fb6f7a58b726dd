import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { loadAppConfig } from "../../app/config.js";
import { createApp } from "../../app/create-app.js";
import { createAppMetrics } from "../../app/metrics.js";
import { loadModel, type Model } from "../../tasks/model/load.js";
import { createReportStore } from "../../tasks/report-store/create.js";
import { memoryServices } from "../../tasks/services.js";
import { runWorker } from "../../tasks/start-worker-process.js";
import { silentLogger } from "./silent-logger.js";

let model: Model | undefined;
/** The trained model, loaded once per test process. */
export function testModel(): Model {
  return (model ??= loadModel());
}

/** The app on memory adapters (and optionally a worker), for supertest: `request(t.app.callback())`. */
export async function memoryApp(
  env: Record<string, string> = {},
  opts: { worker?: boolean; limiter?: RateLimiterAbstract } = {},
) {
  const config = loadAppConfig({ RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-test-")), ...env });
  const services = memoryServices(config);
  const reports = createReportStore(config);
  const metrics = createAppMetrics({ queue: services.queue, jobs: services.jobMetrics, logger: silentLogger });
  const deps = { config, queue: services.queue, store: services.store, model: testModel(), reports, logger: silentLogger, metrics };
  const app = createApp({ ...deps, limiter: opts.limiter });
  const worker = opts.worker ? await runWorker({ config, services, model: testModel(), reports, logger: silentLogger }) : null;
  return {
    app,
    ...deps,
    async close() {
      await worker?.close();
      await services.close();
    },
  };
}
