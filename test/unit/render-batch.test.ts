import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { batchPageCount, renderBatchReport, ROWS_PER_PAGE, type BatchRow } from "../../tasks/report/render-batch.js";

const dir = mkdtempSync(join(tmpdir(), "iris-batch-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const classes = ["setosa", "versicolor", "virginica"];
const row = (result: string, confidence: number): BatchRow => ({
  input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  result,
  probabilities: Object.fromEntries(classes.map((c) => [c, c === result ? confidence : (1 - confidence) / 2])),
});

async function render(rows: BatchRow[]): Promise<{ pages: number; text: string }> {
  const path = join(dir, `${rows.length}.pdf`);
  writeFileSync(
    path,
    await renderBatchReport({
      jobid: "3f2b8c1e-9a4d-4e7b-8f60-2c5d1a9e7b44",
      createdAt: new Date("2025-06-01T14:03:22Z"),
      modelVersion: "d18279dddaa5",
      cvAccuracy: 0.9467,
      cvFolds: 10,
      classes,
      rows,
    }),
  );
  execFileSync("qpdf", ["--check", path], { stdio: "pipe" });
  const pages = Number(/^Pages:\s+(\d+)$/m.exec(execFileSync("pdfinfo", [path], { encoding: "utf8" }))![1]);
  return { pages, text: execFileSync("pdftotext", ["-layout", path, "-"], { encoding: "utf8" }) };
}

describe("renderBatchReport", () => {
  test("a one-row batch: the summary page and one table page", async () => {
    const { pages, text } = await render([row("versicolor", 0.94)]);
    assert.equal(pages, 2);
    assert.equal(batchPageCount(1), 2);
    assert.match(text, /^\s*versicolor\s+1\s+100\.0%/m);
    assert.match(text, /^\s*setosa\s+0\s+0\.0%/m);
    assert.match(text, /^\s*1\s+5\.1\s+3\.5\s+1\.4\s+0\.2\s+versicolor\s+94\.0%/m);
    assert.match(text, /page 2 of 2/);
  });

  test("a table that fills a page exactly, and one row more, take the pages they should", async () => {
    const full = Array.from({ length: ROWS_PER_PAGE }, (_, i) => row(classes[i % 3]!, 0.9));
    assert.equal((await render(full)).pages, 2);
    const over = await render([...full, row("virginica", 0.6)]);
    assert.equal(over.pages, 3);
    assert.match(over.text, new RegExp(`ROWS ${ROWS_PER_PAGE + 1}–${ROWS_PER_PAGE + 1} OF ${ROWS_PER_PAGE + 1}`));
    assert.match(over.text, new RegExp(`^\\s*Total\\s+${ROWS_PER_PAGE + 1}\\s+100\\.0%`, "m"));
  });
});
