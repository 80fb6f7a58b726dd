import PDFDocument from "pdfkit";
import { FEATURES, FEATURE_LABELS, type Measurements } from "../contract.js";
import { drawLabel } from "./label.js";
import { AUTHOR, caption, CONTENT_WIDTH, drawReportHeader, formatCm, LEFT, PAGE, RIGHT, rule, SCATTER_BOX } from "./page.js";
import { MUTED, RULE, speciesColour } from "./palette.js";
import { drawProbabilityBars, formatPercent } from "./probability-bars.js";
import { drawScatter } from "./scatter.js";
import { fillRect } from "./shapes.js";
import { getTrainingFlowers } from "./training-data.js";
import { releaseFonts, type ReportFont } from "./text.js";

type Doc = typeof PDFDocument;

/** One classified row of a batch. */
export interface BatchRow {
  input: Measurements;
  result: string;
  probabilities: Record<string, number>;
}

/** Everything a batch report shows. */
export interface BatchReportData {
  jobid: string;
  createdAt: Date;
  modelVersion: string;
  cvAccuracy: number;
  cvFolds: number;
  classes: string[];
  rows: readonly BatchRow[];
}

// Like render.ts every position is fixed (page.ts), and pages are added explicitly.

/** Table geometry: rows per page follows from the header and footer positions. */
const TABLE = { captionY: 50, headerY: 66, headerHeight: 18, rowHeight: 13, size: 8.5 };
const TABLE_TOP = TABLE.headerY + TABLE.headerHeight;
const TABLE_BOTTOM = PAGE.height - 64;
/** Rows of the table on one page. */
export const ROWS_PER_PAGE = Math.floor((TABLE_BOTTOM - TABLE_TOP) / TABLE.rowHeight);

/** Table columns: x of the left edge, width, alignment. */
const COLUMNS: Array<{ title: string; width: number; align: "left" | "right" }> = [
  { title: "Row", width: 50, align: "right" },
  ...FEATURES.map((f) => ({ title: FEATURE_LABELS[f], width: 68, align: "right" as const })),
  { title: "Predicted species", width: 110, align: "left" },
  { title: "Confidence", width: 0, align: "right" },
];
COLUMNS[COLUMNS.length - 1]!.width = CONTENT_WIDTH - COLUMNS.slice(0, -1).reduce((sum, c) => sum + c.width, 0);

/** Pages a batch of `rows` rows takes: the summary page, then the table. */
export function batchPageCount(rows: number): number {
  return 1 + Math.max(1, Math.ceil(rows / ROWS_PER_PAGE));
}

/** Rows per species, in `classes` order (a species no row got counts 0). */
export function countBySpecies(rows: readonly BatchRow[], classes: string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const row of rows) counts[row.result] = (counts[row.result] ?? 0) + 1;
  return counts;
}

/**
 * Renders a batch report: a summary page (count per species, the scatter of every row) and a
 * table of every row with its predicted species and confidence, as many pages as it needs.
 * Yields to the event loop between pages so a 10,000-row report does not starve the worker.
 */
export function renderBatchReport(data: BatchReportData): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: "A4",
      margin: 0,
      // No PDFKit font: text.ts writes the text, with metrics read once per process.
      font: "",
      autoFirstPage: true,
      displayTitle: true,
      lang: "en",
      info: {
        Title: `Iris batch classification report ${data.jobid}`,
        Author: AUTHOR,
        Creator: AUTHOR,
        Subject: `${data.rows.length} flowers classified`,
        CreationDate: data.createdAt,
        ModDate: data.createdAt,
      },
    });
    const chunks: Buffer[] = [];
    doc.on("data", (chunk: Buffer) => chunks.push(chunk));
    doc.on("error", reject);
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    draw(doc, data)
      .finally(() => releaseFonts(doc))
      .then(
        () => doc.end(),
        (err) => reject(err),
      );
  });
}

async function draw(doc: Doc, data: BatchReportData): Promise<void> {
  const pages = batchPageCount(data.rows.length);
  drawSummaryPage(doc, data, pages);
  for (let page = 2; page <= pages; page++) {
    doc.addPage({ size: "A4", margin: 0 });
    const first = (page - 2) * ROWS_PER_PAGE;
    drawTablePage(doc, data, first, Math.min(first + ROWS_PER_PAGE, data.rows.length));
    drawFooter(doc, data, page, pages);
    if (page % 20 === 0) await new Promise((r) => setImmediate(r));
  }
}

function drawSummaryPage(doc: Doc, data: BatchReportData, pages: number): void {
  drawReportHeader(doc, "Iris batch classification report", data);

  const counts = countBySpecies(data.rows, data.classes);
  const total = data.rows.length;
  drawSummaryTable(doc, counts, total, 134);
  caption(doc, "SHARE OF ROWS", LEFT + 250, 134);
  const shares = Object.fromEntries(Object.entries(counts).map(([c, n]) => [c, total ? n / total : 0]));
  drawProbabilityBars(doc, { x: LEFT + 250, y: 146, width: CONTENT_WIDTH - 250, height: 80 }, shares, data.classes);

  drawLabel(doc, `Petal length × petal width: ${formatCount(total)} rows over the 150 training flowers`, LEFT, 280, {
    font: "Helvetica-Bold",
    size: 11,
    maxWidth: CONTENT_WIDTH,
  });
  drawScatter(doc, SCATTER_BOX, {
    training: getTrainingFlowers(),
    highlight: data.rows.map((r) => ({
      petalLength: r.input.petal_length,
      petalWidth: r.input.petal_width,
      species: r.result,
    })),
  });
  const cv = `Model ${data.modelVersion} · ${data.cvFolds}-fold cross-validated accuracy ${formatPercent(data.cvAccuracy)}`;
  drawLabel(doc, cv, LEFT, 740, { size: 10, maxWidth: CONTENT_WIDTH });
  drawLabel(doc, `Every row's prediction is listed on pages 2–${pages}.`, LEFT, 756, { size: 9, color: MUTED });
  drawFooter(doc, data, 1, pages);
}

function drawSummaryTable(doc: Doc, counts: Record<string, number>, total: number, top: number): void {
  const width = 220;
  caption(doc, "SUMMARY", LEFT, top);
  const rowHeight = 20;
  let y = top + 14;
  fillRect(doc, { x: LEFT, y, width, height: rowHeight }, "#EDEDED");
  const head = { font: "Helvetica-Bold" as const, size: 10, valign: "middle" as const };
  drawLabel(doc, "Species", LEFT + 8, y + rowHeight / 2, head);
  drawLabel(doc, "Rows", LEFT + 150, y + rowHeight / 2, { ...head, align: "right" });
  drawLabel(doc, "Share", LEFT + width - 8, y + rowHeight / 2, { ...head, align: "right" });
  const lines: Array<[string, number, boolean]> = [
    ...Object.entries(counts).map(([s, n]): [string, number, boolean] => [s, n, false]),
    ["Total", total, true],
  ];
  for (const [species, n, isTotal] of lines) {
    y += rowHeight;
    const mid = y + rowHeight / 2;
    if (!isTotal) fillRect(doc, { x: LEFT + 8, y: mid - 4, width: 8, height: 8 }, speciesColour(species));
    const font = isTotal ? "Helvetica-Bold" : "Helvetica";
    drawLabel(doc, species, LEFT + (isTotal ? 8 : 22), mid, {
      font: isTotal ? font : "Helvetica-Oblique",
      size: 10,
      valign: "middle",
    });
    drawLabel(doc, formatCount(n), LEFT + 150, mid, { font, size: 10, align: "right", valign: "middle" });
    drawLabel(doc, formatPercent(total ? n / total : 0), LEFT + width - 8, mid, {
      font,
      size: 10,
      align: "right",
      valign: "middle",
    });
  }
  doc.lineWidth(0.8).strokeColor(RULE);
  doc.moveTo(LEFT, y).lineTo(LEFT + width, y).stroke();
}

function drawTablePage(doc: Doc, data: BatchReportData, from: number, to: number): void {
  caption(doc, `ROWS ${formatCount(from + 1)}–${formatCount(to)} OF ${formatCount(data.rows.length)}`, LEFT, TABLE.captionY);
  fillRect(doc, { x: LEFT, y: TABLE.headerY, width: CONTENT_WIDTH, height: TABLE.headerHeight }, "#EDEDED");
  const headMid = TABLE.headerY + TABLE.headerHeight / 2;
  cells(doc, COLUMNS.map((c) => c.title), headMid, "Helvetica-Bold");
  for (let i = from; i < to; i++) {
    const y = TABLE_TOP + (i - from) * TABLE.rowHeight;
    if ((i - from) % 2 === 1) fillRect(doc, { x: LEFT, y, width: CONTENT_WIDTH, height: TABLE.rowHeight }, "#F5F5F5");
    const row = data.rows[i]!;
    const confidence = row.probabilities[row.result] ?? 0;
    cells(
      doc,
      [String(i + 1), ...FEATURES.map((f) => formatCm(row.input[f])), row.result, formatPercent(confidence)],
      y + TABLE.rowHeight / 2,
      "Helvetica",
      row.result,
    );
  }
}

/** One table line: each value in its column, numbers right-aligned; the species in italics. */
function cells(doc: Doc, values: string[], mid: number, font: ReportFont, species?: string): void {
  let x = LEFT;
  COLUMNS.forEach((col, i) => {
    const isSpecies = i === COLUMNS.length - 2 && species !== undefined;
    const pad = 6;
    const anchor = col.align === "right" ? x + col.width - pad : x + pad;
    if (isSpecies) fillRect(doc, { x: x + pad, y: mid - 3, width: 6, height: 6 }, speciesColour(species));
    drawLabel(doc, values[i] ?? "", isSpecies ? anchor + 10 : anchor, mid, {
      font: isSpecies ? "Helvetica-Oblique" : font,
      size: TABLE.size,
      align: col.align,
      valign: "middle",
      maxWidth: col.width - pad * 2,
    });
    x += col.width;
  });
}

function drawFooter(doc: Doc, data: BatchReportData, page: number, pages: number): void {
  const y = PAGE.height - 44;
  rule(doc, y);
  const small = { size: 8, color: MUTED };
  drawLabel(doc, `Generated by ${AUTHOR}`, LEFT, y + 8, small);
  drawLabel(doc, `Job ${data.jobid} · page ${page} of ${pages}`, RIGHT, y + 8, { ...small, align: "right", maxWidth: 300 });
}


/** A count with thousands separators: 10000 → "10,000". */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
