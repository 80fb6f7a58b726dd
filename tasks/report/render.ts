import type PDFDocument from "pdfkit";
import { createDocument } from "./document.js";
import { FEATURES, FEATURE_LABELS } from "../contract.js";
import {
  drawLabel,
  drawProbabilityBars,
  drawScatter,
  fillRect,
  formatPercent,
  speciesColour,
  type Box,
} from "./charts.js";
import { getTrainingFlowers } from "./training-data.js";

type Doc = typeof PDFDocument;

/** Everything one single-sample report shows. */
export interface ReportData {
  jobid: string;
  createdAt: Date;
  modelVersion: string;
  cvAccuracy: number;
  cvFolds: number;
  input: { sepal_length: number; sepal_width: number; petal_length: number; petal_width: number };
  result: string;
  probabilities: Record<string, number>;
  classes: string[];
}

// A4 in points. Every position below is fixed: the page is laid out, never flowed, so it cannot spill.
const PAGE = { width: 595.28, height: 841.89, margin: 50 };
const CONTENT_WIDTH = PAGE.width - 2 * PAGE.margin;
const LEFT = PAGE.margin;
const RIGHT = PAGE.width - PAGE.margin;
const COLUMN_GAP = 30;
const LEFT_COLUMN = { x: LEFT, width: 220 };
const RIGHT_COLUMN = { x: LEFT + 220 + COLUMN_GAP, width: CONTENT_WIDTH - 220 - COLUMN_GAP };
const SCATTER_BOX: Box = { x: LEFT, y: 304, width: CONTENT_WIDTH, height: 420 };
const MUTED = "#666666";
const RULE = "#CCCCCC";
const AUTHOR = "Iris Report Service";

/** Renders the one-page PDF report for a classified sample and resolves with its bytes. */
export function renderReport(data: ReportData): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = createDocument({
      size: "A4",
      margin: 0,
      displayTitle: true,
      lang: "en",
      info: {
        Title: `Iris classification report ${data.jobid}`,
        Author: AUTHOR,
        Creator: AUTHOR,
        Subject: `Predicted species: Iris ${data.result}`,
        // Pinning the date also pins the file ID PDFKit derives from info: same job, same bytes.
        CreationDate: data.createdAt,
        ModDate: data.createdAt,
      },
    });
    const chunks: Buffer[] = [];
    let extraPages = 0;
    doc.on("pageAdded", () => (extraPages += 1));
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("error", reject);
    doc.on("end", () => {
      if (extraPages > 0) reject(new Error(`report overflowed onto ${extraPages + 1} pages`));
      else resolve(Buffer.concat(chunks));
    });
    try {
      drawPage(doc, data);
      doc.end();
    } catch (err) {
      reject(err);
    }
  });
}

function drawPage(doc: Doc, data: ReportData): void {
  drawHeader(doc, data);
  drawMeasurements(doc, data, 134);
  drawPrediction(doc, data, 134);
  drawLabel(doc, "Petal length × petal width of the 150 training flowers", LEFT, 280, {
    font: "Helvetica-Bold",
    size: 11,
  });
  drawScatter(doc, SCATTER_BOX, {
    training: getTrainingFlowers(),
    highlight: [{ petalLength: data.input.petal_length, petalWidth: data.input.petal_width, species: data.result }],
  });
  const cv = `Model ${data.modelVersion} · ${data.cvFolds}-fold cross-validated accuracy ${formatPercent(data.cvAccuracy)}`;
  drawLabel(doc, cv, LEFT, 740, { size: 10, maxWidth: CONTENT_WIDTH });
  drawFooter(doc, data);
}

function drawHeader(doc: Doc, data: ReportData): void {
  drawLabel(doc, "Iris classification report", LEFT, PAGE.margin, { font: "Helvetica-Bold", size: 22 });
  const fields: [string, string, number, number][] = [
    ["JOB ID", data.jobid, LEFT, 220],
    ["CREATED (UTC)", formatDate(data.createdAt), LEFT + 250, 140],
    ["MODEL VERSION", data.modelVersion, LEFT + 400, CONTENT_WIDTH - 400],
  ];
  for (const [name, value, x, width] of fields) {
    caption(doc, name, x, 86);
    drawLabel(doc, value, x, 98, { size: 10, maxWidth: width });
  }
  rule(doc, 118);
}

function drawMeasurements(doc: Doc, data: ReportData, top: number): void {
  const { x, width } = LEFT_COLUMN;
  caption(doc, "MEASUREMENTS", x, top);
  const rowHeight = 22;
  let y = top + 14;
  fillRect(doc, { x, y, width, height: rowHeight }, "#EDEDED");
  drawLabel(doc, "Measurement", x + 8, y + rowHeight / 2, { font: "Helvetica-Bold", size: 10, valign: "middle" });
  drawLabel(doc, "Value (cm)", x + width - 8, y + rowHeight / 2, {
    font: "Helvetica-Bold",
    size: 10,
    align: "right",
    valign: "middle",
  });
  for (const [i, feature] of FEATURES.entries()) {
    y += rowHeight;
    if (i % 2 === 1) fillRect(doc, { x, y, width, height: rowHeight }, "#F7F7F7");
    const mid = y + rowHeight / 2;
    drawLabel(doc, FEATURE_LABELS[feature], x + 8, mid, { size: 10, valign: "middle" });
    drawLabel(doc, formatCm(data.input[feature]), x + width - 8, mid, { size: 10, align: "right", valign: "middle" });
  }
  const [bottom, right] = [y + rowHeight, x + width];
  doc.lineWidth(0.8).strokeColor(RULE).moveTo(x, bottom).lineTo(right, bottom).stroke();
}

function drawPrediction(doc: Doc, data: ReportData, top: number): void {
  const { x, width } = RIGHT_COLUMN;
  caption(doc, "PREDICTED SPECIES", x, top);
  fillRect(doc, { x, y: top + 16, width: 5, height: 28 }, speciesColour(data.result));
  // Drawn as one string so pdftotext yields the plain species word after "Iris".
  drawLabel(doc, `Iris ${data.result}`, x + 14, top + 30, {
    font: "Helvetica-BoldOblique",
    size: 26,
    valign: "middle",
    maxWidth: width - 14,
  });
  caption(doc, "CLASS PROBABILITIES", x, top + 58);
  drawProbabilityBars(doc, { x, y: top + 70, width, height: 66 }, data.probabilities, data.classes);
}

function drawFooter(doc: Doc, data: ReportData): void {
  const y = PAGE.height - 44;
  rule(doc, y);
  const small = { size: 8, color: MUTED };
  drawLabel(doc, `Generated by ${AUTHOR}`, LEFT, y + 8, small);
  drawLabel(doc, `Job ${data.jobid} · page 1 of 1`, RIGHT, y + 8, { ...small, align: "right", maxWidth: 300 });
}

function caption(doc: Doc, text: string, x: number, y: number): void {
  drawLabel(doc, text, x, y, { font: "Helvetica-Bold", size: 7.5, color: MUTED });
}

function rule(doc: Doc, y: number): void {
  doc.lineWidth(0.8).strokeColor(RULE).moveTo(LEFT, y).lineTo(RIGHT, y).stroke();
}

/** A measurement in cm with one or two decimals: 3 → "3.0", 5.85 → "5.85". */
export function formatCm(value: number): string {
  const fixed = value.toFixed(2);
  return fixed.endsWith("0") ? value.toFixed(1) : fixed;
}

/** A UTC timestamp a person can read: "2025-06-01 14:03:22 UTC". */
export function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
