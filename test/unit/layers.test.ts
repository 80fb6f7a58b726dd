// A recorded layer (tasks/report/layers.ts) must look exactly like drawing the same thing
// directly, be recorded once per key, and refuse what a form without those resources cannot show.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type PDFDocument from "pdfkit";
import { drawLabel } from "../../tasks/report/charts.js";
import { createDocument } from "../../tasks/report/document.js";
import { drawLayer } from "../../tasks/report/layers.js";

type Doc = typeof PDFDocument;
const dir = mkdtempSync(join(tmpdir(), "iris-layers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A page in the state a report's page is in: a label and a colour set before the layer. */
function page(draw: (doc: Doc) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = createDocument({ size: "A4", margin: 0 });
    const chunks: Buffer[] = [];
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
    drawLabel(doc, "before the layer", 50, 50, { font: "Helvetica-Oblique", size: 12 });
    draw(doc);
    drawLabel(doc, "after the layer", 50, 400, { size: 12 });
    doc.end();
  });
}

/** What a reader shows of `pdf`: page 1 as PPM bytes (pdftoppm) and its text (pdftotext). */
function shown(pdf: Buffer, name: string): { pixels: Buffer; text: string } {
  const path = join(dir, `${name}.pdf`);
  writeFileSync(path, pdf);
  execFileSync("qpdf", ["--check", path], { stdio: "pipe" });
  return {
    pixels: execFileSync("pdftoppm", ["-r", "60", "-singlefile", path], { maxBuffer: 64 * 1024 * 1024 }),
    text: execFileSync("pdftotext", [path, "-"], { encoding: "utf8" }),
  };
}

/** Text in two fonts, a rotated label, strokes and fills in colour. */
function furniture(doc: Doc): void {
  doc.lineWidth(2).strokeColor("#009E73").moveTo(60, 120).lineTo(500, 300).stroke();
  doc.fillColor("#E69F00").rect(80, 160, 120, 60).fill();
  drawLabel(doc, "Recorded once", 300, 140, { font: "Helvetica-Bold", size: 18 });
  doc.save().rotate(-90, { origin: [40, 300] });
  drawLabel(doc, "Sideways", 40, 300, { size: 10, color: "#666666" });
  doc.restore();
}

describe("recorded layers", () => {
  it("show exactly what drawing the same operators directly shows, text included", async () => {
    const direct = await page(furniture);
    const layered = await page((doc) => drawLayer(doc, "test:furniture", furniture));
    assert.ok(layered.toString("latin1").includes("/Subtype /Form"), "the layer is a form");
    const [a, b] = [shown(layered, "layered"), shown(direct, "direct")];
    assert.equal(a.text, b.text);
    assert.ok(a.pixels.equals(b.pixels), "the pages differ in pixels");
  });

  it("records a drawing once per key and places it in every document", async () => {
    let calls = 0;
    const counted = (doc: Doc) => {
      calls++;
      furniture(doc);
    };
    const a = await page((doc) => drawLayer(doc, "test:counted", counted));
    const b = await page((doc) => drawLayer(doc, "test:counted", counted));
    await page((doc) => drawLayer(doc, "test:counted-other", counted));
    assert.equal(calls, 2);
    assert.ok(shown(a, "a").pixels.equals(shown(b, "b").pixels));
  });

  it("refuses a drawing that needs more than fonts (here: an opacity state)", async () => {
    await assert.rejects(
      page((doc) => drawLayer(doc, "test:opacity", (d) => d.fillOpacity(0.5).rect(10, 10, 50, 50).fill())),
      /a recorded layer may only use fonts, not ExtGState/,
    );
  });
});
