import type PDFDocument from "pdfkit";
import { drawLabel } from "./label.js";
import { MUTED, RULE } from "./palette.js";
import type { Box } from "./shapes.js";

type Doc = typeof PDFDocument;

// A4 in points. Every position is fixed: pages are laid out, never flowed, so nothing can spill.
/** The page every report uses. */
export const PAGE = { width: 595.28, height: 841.89, margin: 50 };
export const LEFT = PAGE.margin;
export const RIGHT = PAGE.width - PAGE.margin;
export const CONTENT_WIDTH = RIGHT - LEFT;
/** Where the training scatter plot sits, on the single report and on a batch's summary page. */
export const SCATTER_BOX: Box = { x: LEFT, y: 304, width: CONTENT_WIDTH, height: 420 };
/** Author and creator in every report's metadata. */
export const AUTHOR = "Iris Report Service";

/** The header's three fields: caption, left edge and width of the value under it. */
const HEADER_FIELDS: ReadonlyArray<[string, number, number]> = [
  ["JOB ID", LEFT, 220],
  ["CREATED (UTC)", LEFT + 250, 140],
  ["MODEL VERSION", LEFT + 400, CONTENT_WIDTH - 400],
];

/** The report's title, then job id, creation date and model version under small captions, then a rule. */
export function drawReportHeader(
  doc: Doc,
  title: string,
  data: { jobid: string; createdAt: Date; modelVersion: string },
): void {
  drawHeaderFrame(doc, title);
  drawHeaderValues(doc, data);
}

/** The header's fixed part: title, captions and rule. */
export function drawHeaderFrame(doc: Doc, title: string): void {
  drawLabel(doc, title, LEFT, PAGE.margin, { font: "Helvetica-Bold", size: 22 });
  for (const [name, x] of HEADER_FIELDS) caption(doc, name, x, 86);
  rule(doc, 118);
}

/** The header's values: job id, creation date and model version, under their captions. */
export function drawHeaderValues(doc: Doc, data: { jobid: string; createdAt: Date; modelVersion: string }): void {
  const values = [data.jobid, formatDate(data.createdAt), data.modelVersion];
  HEADER_FIELDS.forEach(([, x, width], i) => drawLabel(doc, values[i]!, x, 98, { size: 10, maxWidth: width }));
}

/** A small grey capitals caption above a block. */
export function caption(doc: Doc, text: string, x: number, y: number): void {
  drawLabel(doc, text, x, y, { font: "Helvetica-Bold", size: 7.5, color: MUTED });
}

/** A hairline across the content width. */
export function rule(doc: Doc, y: number): void {
  doc.lineWidth(0.8).strokeColor(RULE).moveTo(LEFT, y).lineTo(RIGHT, y).stroke();
}

export { formatCm } from "../contract.js";

/** A UTC timestamp a person can read: "2025-06-01 14:03:22 UTC". */
export function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
