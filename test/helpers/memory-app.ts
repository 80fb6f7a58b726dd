import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { loadAppConfig } from "../../app/config.js";
import { createApp } from "../../app/create-app.js";
import { webDeps } from "../../app/web-deps.js";
import { loadModel, type Model } from "../../tasks/model/load.js";
import { createReportStore } from "../../tasks/report-store/create.js";
import { memoryServices } from "../../tasks/services.js";
import { startWorker } from "../../tasks/start-worker-process.js";
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
  const reports = await createReportStore(config);
  const deps = webDeps({ ...services, reports, config, model: testModel(), logger: silentLogger });
  const app = createApp(opts.limiter ? { ...deps, limiter: opts.limiter } : deps);
  const worker = opts.worker ? await startWorker({ config, services, model: testModel(), reports, logger: silentLogger }) : null;
  return {
    app,
    ...deps,
    queue: services.queue,
    jobMetrics: services.jobMetrics,
    async close() {
      await worker?.close();
      await services.close();
    },
  };
}
