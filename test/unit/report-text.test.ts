import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import PDFDocument from "pdfkit";
import { renderBatchReport } from "../../tasks/report/render-batch.js";
import { renderReport } from "../../tasks/report/render.js";
import {
  ASCENDER,
  documentsWithFonts,
  releaseFonts,
  setLine,
  textWidth,
  winAnsiCodes,
  writeText,
  type ReportFont,
} from "../../tasks/report/text.js";

type Doc = typeof PDFDocument;

const dir = mkdtempSync(join(tmpdir(), "iris-text-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One job's report fields, its measurements and its class probabilities, for the renderers. */
const data = {
  jobid: "3f2b8c1e-9a4d-4e7b-8f60-2c5d1a9e7b44",
  createdAt: new Date("2025-06-01T14:03:22.512Z"),
  modelVersion: "d18279dddaa5",
  cvAccuracy: 0.9467,
  cvFolds: 10,
  classes: ["setosa", "versicolor", "virginica"],
};
const input = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };
const probabilities = { setosa: 0, versicolor: 0.04, virginica: 0.96 };

/** Draws on an uncompressed A4 page and resolves with the PDF as latin1 text. */
function pdfOf(draw: (doc: Doc) => void, options: PDFKit.PDFDocumentOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: "A4", margin: 0, compress: false, ...options });
    const chunks: Buffer[] = [];
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
    doc.on("error", reject);
    draw(doc);
    releaseFonts(doc);
    doc.end();
  });
}

/** The text objects of a page stream, font resource names made alike. */
const textObjects = (pdf: string): string[] =>
  [...pdf.matchAll(/BT\n[\s\S]*?\nET/g)].map((m) => m[0].replace(/\/[A-Za-z0-9]+ ([\d.]+ Tf)/g, "/F $1"));

const CASES: Array<{ text: string; font: ReportFont; size: number; baseline: "top" | "alphabetic" | number }> = [
  { text: "AVAWAY To Wa Ty yo", font: "Helvetica", size: 10, baseline: "top" },
  { text: "Petal length × petal width of the 150 training flowers", font: "Helvetica-Bold", size: 11, baseline: "top" },
  { text: "Job 3f2b8c1e-9a4d-4e7b · page 1 of 1", font: "Helvetica", size: 8, baseline: "alphabetic" },
  { text: "Iris virginica", font: "Helvetica-BoldOblique", size: 26, baseline: -9.334 },
  { text: "versicolor 94.7% – “quoted” ‘single’ … € ™ — Œuvre", font: "Helvetica-Oblique", size: 9.5, baseline: -3.59 },
  { text: "Value (cm) 6.7 3.0 5.8 2.2 PREDICTED SPECIES", font: "Helvetica-Bold", size: 7.5, baseline: "top" },
  { text: "Your flower · setosa", font: "Helvetica-Oblique", size: 9, baseline: "top" },
  { text: "Iris setosa", font: "Helvetica-BoldOblique", size: 26, baseline: "top" },
];

describe("report text: PDFKit's metrics and operators, without its per-document fonts", () => {
  test("writes the same text objects PDFKit's text() writes, kerning included", async () => {
    for (const c of CASES) {
      const x = 57.3;
      const y = 123.45;
      const theirs = await pdfOf((doc) =>
        doc.font(c.font).fontSize(c.size).text(c.text, x, y, { lineBreak: false, baseline: c.baseline }),
      );
      const offset = c.baseline === "top" ? (ASCENDER / 1000) * c.size : c.baseline === "alphabetic" ? 0 : -c.baseline;
      const ours = await pdfOf(
        (doc) =>
          writeText(doc, setLine(c.text, c.font), x, y, { size: c.size, color: "#1A1A1A", baselineOffset: offset }),
        { font: "" },
      );
      assert.deepEqual(textObjects(ours), textObjects(theirs), c.text);
      assert.equal(textObjects(ours).length, 1);
    }
  });

  test("measures every string as PDFKit's widthOfString does", async () => {
    await pdfOf((doc) => {
      for (const c of CASES) {
        const theirs = doc.font(c.font).fontSize(c.size).widthOfString(c.text);
        assert.ok(Math.abs(textWidth(c.text, c.font, c.size) - theirs) < 1e-9, `${c.text}: ${theirs}`);
      }
      // Kerning shows: "AV" is narrower than "A" and "V" apart.
      assert.ok(textWidth("AV", "Helvetica", 10) < textWidth("A", "Helvetica", 10) + textWidth("V", "Helvetica", 10));
    });
  });

  test("a character WinAnsiEncoding lacks is written and measured as '?'", async () => {
    assert.deepEqual(winAnsiCodes("a≥漢😀b"), [0x61, 0x3f, 0x3f, 0x3f, 0x62]);
    assert.equal(textWidth("≥😀", "Helvetica", 10), textWidth("??", "Helvetica", 10));
    const pdf = await pdfOf(
      (doc) => writeText(doc, setLine("x ≥ 1", "Helvetica"), 10, 10, { size: 10, color: "#000000", baselineOffset: 0 }),
      { font: "" },
    );
    assert.match(textObjects(pdf)[0]!, /\[<78203f2031> 0\] TJ/);
  });

  test("reports name each Helvetica face they use once, unembedded, on every page that uses it", async () => {
    const single = join(dir, "single.pdf");
    writeFileSync(single, await renderReport({ ...data, input, result: "virginica", probabilities }));
    const batch = join(dir, "batch.pdf");
    const rows = Array.from({ length: 120 }, () => ({ input, result: "virginica", probabilities }));
    writeFileSync(batch, await renderBatchReport({ ...data, rows }));

    const fonts = (path: string, page?: number): string[] => {
      const range = page === undefined ? [] : ["-f", String(page), "-l", String(page)];
      const out = execFileSync("pdffonts", [...range, path], { encoding: "utf8" });
      return out
        .split("\n")
        .slice(2)
        .filter(Boolean)
        .map((line) => line.split(/\s+/).slice(0, 4).join(" "));
    };
    const faces = ["Helvetica", "Helvetica-Bold", "Helvetica-BoldOblique", "Helvetica-Oblique"];
    assert.deepEqual(
      fonts(single).sort(),
      faces.map((f) => `${f} Type 1 WinAnsi`),
    );
    assert.deepEqual(
      fonts(batch).sort(),
      faces.map((f) => `${f} Type 1 WinAnsi`),
    );
    for (const page of [2, 3]) {
      assert.deepEqual(fonts(batch, page).sort(), [
        "Helvetica Type 1 WinAnsi",
        "Helvetica-Bold Type 1 WinAnsi",
        "Helvetica-Oblique Type 1 WinAnsi",
      ]);
    }
    const text = execFileSync("pdftotext", ["-f", "3", "-l", "3", batch, "-"], { encoding: "utf8" });
    assert.match(text, /ROWS 54–106 OF 120/);
  });

  test("keeps no document once it is drawn, also when drawing throws", async () => {
    // A document kept past its render (a WeakMap did, through its refs) is promoted whole by each
    // young-generation collection: a third of the render's CPU in a loop (BENCHMARKS.md).
    const before = documentsWithFonts();
    await renderReport({ ...data, input, result: "virginica", probabilities });
    const rows = Array.from({ length: 120 }, () => ({ input, result: "virginica", probabilities }));
    await renderBatchReport({ ...data, rows });
    assert.equal(documentsWithFonts(), before, "after a single and a batch report");
    // Drawn up to the measurements table, which has no measurements to show.
    await assert.rejects(renderReport({ ...data, input: undefined as never, result: "virginica", probabilities }));
    const broken = [...rows.slice(0, 60), undefined as never];
    await assert.rejects(renderBatchReport({ ...data, rows: broken }));
    assert.equal(documentsWithFonts(), before, "after two renders that threw");
  });
});
