import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { renderReport, type ReportData } from "../../tasks/report/render.js";

const dir = mkdtempSync(join(tmpdir(), "iris-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const virginica: ReportData = {
  jobid: "3f2b8c1e-9a4d-4e7b-8f60-2c5d1a9e7b44",
  createdAt: new Date("2025-06-01T14:03:22.512Z"),
  modelVersion: "d18279dddaa5",
  cvAccuracy: 0.9467,
  cvFolds: 10,
  input: { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 },
  result: "virginica",
  probabilities: { setosa: 0, versicolor: 0.04, virginica: 0.96 },
  classes: ["setosa", "versicolor", "virginica"],
};

const setosa: ReportData = {
  ...virginica,
  jobid: "0c7d2f4a-1b3e-4c5d-9e8f-7a6b5c4d3e2f",
  input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  result: "setosa",
  probabilities: { setosa: 1, versicolor: 0, virginica: 0 },
};

async function renderToFile(data: ReportData, name: string): Promise<{ path: string; text: string }> {
  const path = join(dir, `${name}.pdf`);
  writeFileSync(path, await renderReport(data));
  return { path, text: execFileSync("pdftotext", [path, "-"], { encoding: "utf8" }) };
}

/** Page 1 as RGB pixels (pdftoppm's binary PPM). */
function pagePixels(path: string, dpi = 72): { width: number; height: number; rgb: Buffer } {
  const ppm = execFileSync("pdftoppm", ["-r", String(dpi), "-f", "1", "-l", "1", "-singlefile", path], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 40).toString("latin1"))!;
  return { width: Number(header[1]), height: Number(header[2]), rgb: ppm.subarray(header[0].length) };
}

describe("renderReport", () => {
  test("a virginica sample gives a valid one-page PDF with the facts extractable", async () => {
    const { path, text } = await renderToFile(virginica, "virginica");

    // execFileSync throws on a non-zero exit, so reaching the next line means qpdf passed.
    execFileSync("qpdf", ["--check", path], { stdio: "pipe" });
    assert.match(execFileSync("pdfinfo", [path], { encoding: "utf8" }), /^Pages:\s+1$/m);

    assert.match(text, /\bIris virginica\b/);
    assert.ok(text.includes(virginica.jobid), "job id");
    assert.ok(text.includes("Sepal length"), "measurement label");
    assert.ok(text.includes("Value (cm)"), "table header");
    // Inputs print with one decimal at least, so 3 reads "3.0", not "3".
    for (const value of ["6.7", "3.0", "5.2", "2.3"])
      assert.match(text, new RegExp(`^${value.replace(".", "\\.")}$`, "m"), value);
    assert.ok(text.includes("Model d18279dddaa5 · 10-fold cross-validated accuracy 94.7%"), "accuracy line");
    assert.ok(text.includes("96.0%"), "winning probability");
  });

  test("the PDF carries its metadata and the same job renders to the same bytes", async () => {
    const first = await renderReport(virginica);
    const path = join(dir, "meta.pdf");
    writeFileSync(path, first);
    const info = execFileSync("pdfinfo", [path], { encoding: "utf8" });
    assert.match(info, /^Author:\s+Iris Report Service$/m);
    assert.match(info, /^Title:\s+Iris classification report/m);
    assert.ok(first.equals(await renderReport(virginica)), "deterministic output");
  });

  test("different samples give different species text", async () => {
    const a = await renderToFile(virginica, "a");
    const b = await renderToFile(setosa, "b");
    assert.match(a.text, /\bIris virginica\b/);
    assert.doesNotMatch(a.text, /\bIris setosa\b/);
    assert.match(b.text, /\bIris setosa\b/);
    assert.doesNotMatch(b.text, /\bIris virginica\b/);
    assert.ok(b.text.includes("1.4") && b.text.includes("0.2"), "setosa inputs");
  });

  test("extreme inputs still fit on one page", async () => {
    const { path } = await renderToFile(
      {
        ...virginica,
        jobid: "x".repeat(200),
        modelVersion: "v".repeat(200),
        input: { sepal_length: 10, sepal_width: 0.01, petal_length: 10, petal_width: 10 },
      },
      "extreme",
    );
    assert.match(execFileSync("pdfinfo", [path], { encoding: "utf8" }), /^Pages:\s+1$/m);
  });

  test("the 150 training flowers are drawn, in each species' colour at 70% over white", async () => {
    const { path } = await renderToFile(setosa, "scatter");
    const { rgb } = pagePixels(path);
    // The training points' colours blended over white; the marked flower is drawn opaque.
    const blended = { setosa: [230, 159, 0], versicolor: [0, 114, 178], virginica: [0, 158, 115] };
    for (const [species, colour] of Object.entries(blended)) {
      const want = colour.map((c) => c * 0.7 + 255 * 0.3);
      let count = 0;
      for (let i = 0; i + 2 < rgb.length; i += 3) {
        if (want.every((w, k) => Math.abs(rgb[i + k]! - w) <= 10)) count++;
      }
      assert.ok(count >= 150, `${species}: ${count} pixels of its training-point colour`);
    }
  });
});
