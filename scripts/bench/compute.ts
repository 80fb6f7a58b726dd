// The compute ceiling: one process classifying and rendering reports in a tight loop.
import { performance } from "node:perf_hooks";
import { loadModel } from "../../tasks/model/load.js";
import { renderReport } from "../../tasks/report/render.js";
import { median } from "./client.js";

/** Reports per second and median ms per report over `n` reports (after a warm-up). */
export async function computeCeiling(n = 400): Promise<{ reportsPerSec: number; medianMs: number }> {
  const model = loadModel();
  const input = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 };
  const one = async () => {
    const p = model.predict(input);
    await renderReport({
      jobid: crypto.randomUUID(),
      createdAt: new Date(),
      modelVersion: model.version,
      cvAccuracy: model.card.cv_accuracy,
      cvFolds: model.card.cv_folds,
      input,
      result: p.result,
      probabilities: p.probabilities,
      classes: model.classes,
    });
  };
  for (let i = 0; i < 50; i++) await one();
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await one();
    times.push(performance.now() - t);
  }
  return { reportsPerSec: n / ((performance.now() - started) / 1000), medianMs: median(times) };
}
