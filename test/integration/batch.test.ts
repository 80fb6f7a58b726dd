// A batch of 10,000 rows through the real stack: a web process and a worker process on RabbitMQ
// and Redis. The report's page count (pdfinfo) and per-species counts (pdftotext) must be right.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Measurements } from "../../tasks/contract.js";
import { batchPageCount } from "../../tasks/report/render-batch.js";
import { getTrainingFlowers } from "../../tasks/report/training-data.js";
import { testModel } from "../helpers/memory-app.js";
import { openApiChecker, type OpenApiChecker } from "../helpers/openapi.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

const ROWS = 10_000;

/** Seeded rows near the training flowers (so every species occurs), one decimal, inside (0, 10]. */
function flowers(n: number, seed: number): Measurements[] {
  // mulberry32: a small seeded PRNG, so the batch (and its expected counts) is the same every run.
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const training = getTrainingFlowers();
  const jitter = (v: number) => Math.min(10, Math.max(0.1, Math.round((v + (random() - 0.5) * 0.6) * 10) / 10));
  return Array.from({ length: n }, () => {
    const f = training[Math.floor(random() * training.length)]!;
    return {
      sepal_length: jitter(f.sepalLength),
      sepal_width: jitter(f.sepalWidth),
      petal_length: jitter(f.petalLength),
      petal_width: jitter(f.petalWidth),
    };
  });
}

function expectedCounts(inputs: Measurements[]): Record<string, number> {
  const counts: Record<string, number> = { setosa: 0, versicolor: 0, virginica: 0 };
  for (const p of testModel().predictMany(inputs)) counts[p.result]! += 1;
  return counts;
}

describe("a 10,000-row batch on RabbitMQ + Redis: web + worker processes", () => {
  let stack: Stack;
  let base = "";
  let ns = "";
  let resultsDir = "";
  let doc: OpenApiChecker;

  before(async () => {
    stack = await startStack({ workers: 1, kind: "batch", env: { WORKER_CONCURRENCY: "1" } });
    ({ base, ns, resultsDir } = stack);
    doc = await openApiChecker(await (await fetch(`${base}/openapi.json`)).json());
  });

  after(async () => {
    const codes = await stack.stop();
    assert.deepEqual(codes, codes.map(() => 0), "every process exits 0 on SIGTERM");
    rmSync(resultsDir, { recursive: true, force: true });
  });

  const getJson = async (path: string) => {
    const res = await fetch(base + path);
    const body = await res.json();
    doc.check({ method: "GET", path, status: res.status, contentType: res.headers.get("content-type")!, body });
    // Validated against /openapi.json just above, so the test may index it freely.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: res.status, body: body as any };
  };
  const finished = (id: string) =>
    waitFor(
      async () => {
        const a = await getJson(`/predict/${id}`);
        return a.status === 200 ? a : null;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: `batch ${id}` },
    );

  it(`classifies ${ROWS} JSON rows into one report with the right pages and per-species counts`, async () => {
    const inputs = flowers(ROWS, 42);
    const expected = expectedCounts(inputs);
    assert.ok(Object.values(expected).every((n) => n > 1000), `every species is well represented: ${JSON.stringify(expected)}`);

    const started = Date.now();
    const res = await fetch(`${base}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": `batch-${ns}` },
      body: JSON.stringify({ inputs }),
    });
    const accepted = (await res.json()) as { prediction_id: string };
    doc.check({ method: "POST", path: "/predict", status: res.status, contentType: res.headers.get("content-type")!, body: accepted });
    assert.equal(res.status, 202);
    const id = accepted.prediction_id;
    const done = await finished(id);
    const ms = Date.now() - started;
    console.log(`batch of ${ROWS} rows: ${ms} ms from POST to SUCCESS (web + 1 worker process, real RabbitMQ/Redis)`);

    assert.equal(done.body.state, "SUCCESS");
    assert.equal(done.body.output.count, ROWS);
    assert.deepEqual(done.body.output.summary, expected);
    assert.equal(done.body.output.results.length, ROWS);
    assert.deepEqual(done.body.output.results[ROWS - 1].input, inputs[ROWS - 1]);
    assert.equal(done.body.output.results[ROWS - 1].row, ROWS);

    const pdf = await fetch(`${base}/result?jobid=${id}`);
    assert.equal(pdf.status, 200);
    const file = join(resultsDir, "downloaded.pdf");
    writeFileSync(file, Buffer.from(await pdf.arrayBuffer()));
    execFileSync("qpdf", ["--check", file], { stdio: "pipe" });
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(execFileSync("pdfinfo", [file], { encoding: "utf8" }))![1]);
    assert.equal(pages, batchPageCount(ROWS));
    assert.equal(pages, 190, "1 summary page + 189 table pages of 53 rows");

    const text = execFileSync("pdftotext", ["-layout", file, "-"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    // The summary table: "setosa   3,334   33.3%".
    for (const [species, n] of Object.entries(expected)) {
      const m = new RegExp(`^\\s*${species}\\s+([\\d,]+)\\s+[\\d.]+%`, "m").exec(text);
      assert.ok(m, `summary line for ${species}`);
      assert.equal(Number(m[1]!.replace(/,/g, "")), n, `${species} count on the summary page`);
    }
    assert.match(text, /^\s*Total\s+10,000\s+100\.0%/m);
    // The table: one line per row, "  17   5.1   3.5   1.4   0.2   setosa   100.0%".
    const tableRows = [...text.matchAll(/^\s*(\d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(setosa|versicolor|virginica)\s+[\d.]+%\s*$/gm)];
    assert.equal(tableRows.length, ROWS, "every row is in the table");
    const counted: Record<string, number> = { setosa: 0, versicolor: 0, virginica: 0 };
    for (const row of tableRows) counted[row[2]!]! += 1;
    assert.deepEqual(counted, expected, "per-species counts in the table");
    assert.deepEqual(
      tableRows.map((r) => Number(r[1])),
      Array.from({ length: ROWS }, (_, i) => i + 1),
      "rows numbered 1…10,000 in order",
    );
  });

  it("classifies a CSV upload through the same stack", async () => {
    const inputs = flowers(2000, 7);
    const csv = ["sepal_length,sepal_width,petal_length,petal_width", ...inputs.map((r) => Object.values(r).join(","))].join("\n");
    const form = new FormData();
    form.append("file", new Blob([csv], { type: "text/csv" }), "flowers.csv");
    const res = await fetch(`${base}/predict`, { method: "POST", body: form });
    assert.equal(res.status, 202);
    const { prediction_id: id } = (await res.json()) as { prediction_id: string };
    const done = await finished(id);
    assert.equal(done.body.output.count, 2000);
    assert.deepEqual(done.body.output.summary, expectedCounts(inputs));
  });
});
