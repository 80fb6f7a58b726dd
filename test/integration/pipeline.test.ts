// The whole flow on the real services: a web process and two worker processes, driven over HTTP.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startStack, succeededBy, type Stack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

describe("pipeline on RabbitMQ + Redis: web + 2 workers", () => {
  let stack: Stack;
  let base = "";
  let resultsDir = "";

  before(async () => {
    stack = await startStack({ workers: 2, kind: "pipe", env: { WORKER_CONCURRENCY: "2" } });
    ({ base, resultsDir } = stack);
  });

  after(async () => {
    const codes = await stack.stop();
    assert.deepEqual(codes, codes.map(() => 0), "every process exits 0 on SIGTERM");
  });

  const submit = async (fields: Record<string, string>) => {
    const res = await fetch(`${base}/predict`, {
      method: "POST",
      body: new URLSearchParams(fields),
      redirect: "manual",
    });
    return res;
  };

  it("form submit → 303 → SUCCESS → a valid PDF naming the species and inputs", async () => {
    const res = await submit({ sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.8", petal_width: "2.2" });
    assert.equal(res.status, 303);
    const location = res.headers.get("location")!;
    const jobid = location.split("/").pop()!;
    assert.match(location, /^\/jobs\/[0-9a-f-]{36}$/);

    const page = await fetch(`${base}${location}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<progress/);

    const seen: number[] = [];
    const final = await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/progress?jobid=${jobid}`)).json()) as {
          state: string;
          progress: number;
          result?: string;
        };
        seen.push(body.progress);
        return body.state === "SUCCESS" || body.state === "FAILURE" ? body : null;
      },
      { timeoutMs: 20_000, intervalMs: 25, what: "job to finish" },
    );
    assert.equal(final.state, "SUCCESS");
    assert.equal(final.result, "virginica");
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "progress never goes backwards");

    const pdf = await fetch(`${base}/result?jobid=${jobid}`);
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers.get("content-type"), "application/pdf");
    assert.equal(pdf.headers.get("content-disposition"), `attachment; filename="iris-report-${jobid}.pdf"`);
    const bytes = Buffer.from(await pdf.arrayBuffer());
    assert.equal(Number(pdf.headers.get("content-length")), bytes.length);
    const file = join(mkdtempSync(join(tmpdir(), "iris-pdf-")), "r.pdf");
    writeFileSync(file, bytes);
    execFileSync("qpdf", ["--check", file]); // throws on a non-zero exit
    const text = execFileSync("pdftotext", [file, "-"]).toString();
    assert.match(text, /virginica/);
    for (const v of ["6.7", "3.0", "5.8", "2.2"]) assert.ok(text.includes(v), `PDF shows input ${v}`);

    const inline = await fetch(`${base}/result?jobid=${jobid}&inline=1`);
    assert.match(inline.headers.get("content-disposition")!, /^inline;/);
  });

  it("spreads 30 jobs over both workers and every one succeeds with exactly one PDF", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await submit({ sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" });
      assert.equal(res.status, 303);
      ids.push(res.headers.get("location")!.split("/").pop()!);
    }
    await waitFor(
      async () => {
        const states = await Promise.all(
          ids.map(async (id) => ((await (await fetch(`${base}/progress?jobid=${id}`)).json()) as { state: string }).state),
        );
        return states.every((s) => s === "SUCCESS");
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "30 jobs to succeed" },
    );
    const pdfs = readdirSync(resultsDir).filter((f) => f.endsWith(".pdf"));
    for (const id of ids) assert.equal(pdfs.filter((f) => f.includes(id)).length, 1);
    const [w1, w2] = stack.workers.map((w) => succeededBy(w).length);
    assert.ok(w1! > 0 && w2! > 0, `both workers worked (${w1}, ${w2})`);
  });

  it("answers 400 with the form for bad input, values kept", async () => {
    const res = await submit({ sepal_length: "60", sepal_width: "x", petal_length: "1", petal_width: "1" });
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /Sepal length must be at most 10/);
    assert.match(html, /value="60"/);
  });

  it("validates ids: malformed 400, unknown 404, and never leaks a stack", async () => {
    const bad = await fetch(`${base}/progress?jobid=../../etc/passwd`);
    assert.equal(bad.status, 400);
    const unknown = await fetch(`${base}/result?jobid=${crypto.randomUUID()}`);
    assert.equal(unknown.status, 404);
    const body = await unknown.text();
    assert.doesNotMatch(body, /at .*\.ts:\d+/);
  });
});
