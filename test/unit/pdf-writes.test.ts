// The batched writes (tasks/report/pdf-writes.ts) change how PDFKit's bytes are gathered, never
// the bytes: every report here is compared with the same report written by PDFKit's own methods.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadModel } from "../../tasks/model/load.js";
import { installBatchedWrites } from "../../tasks/report/pdf-writes.js";
import { renderBatchReport } from "../../tasks/report/render-batch.js";
import { renderReport } from "../../tasks/report/render.js";

const model = loadModel();
const common = {
  createdAt: new Date("2026-01-02T03:04:05Z"),
  modelVersion: model.version,
  cvAccuracy: model.card.cv_accuracy,
  cvFolds: model.card.cv_folds,
  classes: model.classes,
};
const inputs = Array.from({ length: 240 }, (_, i) => ({
  sepal_length: 4 + (i % 40) / 10,
  sepal_width: 2 + (i % 20) / 10,
  petal_length: 1 + (i % 60) / 10,
  petal_width: 0.1 + (i % 25) / 10,
}));

/** Three single reports (one per species) and a multi-page batch report. */
async function renderAll(): Promise<Buffer[]> {
  const singles = [0, 70, 150].map((i, n) => {
    const input = inputs[i]!;
    return renderReport({ ...common, jobid: `00000000-0000-4000-8000-00000000000${n}`, input, ...model.predict(input) });
  });
  const predictions = model.predictMany(inputs);
  const batch = renderBatchReport({
    ...common,
    jobid: "00000000-0000-4000-8000-0000000000bb",
    rows: inputs.map((input, i) => ({ input, ...predictions[i]! })),
  });
  return Promise.all([...singles, batch]);
}

describe("batched PDF writes", () => {
  it("write exactly the bytes PDFKit writes on its own, for single and multi-page reports", async () => {
    const batched = await renderAll();
    assert.deepEqual(
      batched.map((pdf) => pdf.subarray(0, 5).toString()),
      ["%PDF-", "%PDF-", "%PDF-", "%PDF-"],
    );
    assert.ok((batched[3]!.toString("latin1").match(/\/Type \/Page\b/g) ?? []).length > 1, "the batch has several pages");
    const uninstall = installBatchedWrites(); // already installed: hands back its undo
    uninstall();
    try {
      const own = await renderAll();
      for (const [i, pdf] of batched.entries()) assert.ok(pdf.equals(own[i]!), `report ${i} differs from PDFKit's own bytes`);
    } finally {
      installBatchedWrites();
    }
  });
});
