import type PDFDocument from "pdfkit";
import { INK } from "./palette.js";
import { ASCENDER, setLine, writeText, type ReportFont } from "./text.js";

type Doc = typeof PDFDocument;

// Helvetica's cap height; lets "middle" centre digits and capitals rather than the em box.
const CAP_HEIGHT = 0.718;

/** How `drawLabel` places and styles one line of text. */
export interface LabelOptions {
  font?: ReportFont;
  size?: number;
  color?: string;
  align?: "left" | "center" | "right";
  valign?: "top" | "middle" | "baseline";
  maxWidth?: number;
}

/**
 * Draws one line of text anchored at (x, y) and returns its width. It never wraps: PDFKit's
 * line wrapper is what adds pages, and the report must stay on one page whatever the input.
 * Text wider than maxWidth shrinks to 70 % and is then cut with an ellipsis.
 */
export function drawLabel(doc: Doc, text: string, x: number, y: number, options: LabelOptions = {}): number {
  const { font = "Helvetica", color = INK, align = "left", valign = "top", maxWidth } = options;
  let size = options.size ?? 10;
  let line = setLine(text, font);
  const widthAt = (points: number) => (line.units * points) / 1000;
  let width = widthAt(size);
  if (maxWidth !== undefined && width > maxWidth) {
    size = Math.max(size * 0.7, size * (maxWidth / width));
    width = widthAt(size);
    // Cut one character at a time; `line` is then the cut text with its ellipsis.
    for (let shown = text; width > maxWidth && shown.length > 1; width = widthAt(size)) {
      shown = shown.slice(0, -1);
      line = setLine(`${shown}…`, font);
    }
  }
  const left = align === "left" ? x : align === "center" ? x - width / 2 : x - width;
  const baselineOffset = (valign === "top" ? ASCENDER / 1000 : valign === "baseline" ? 0 : CAP_HEIGHT / 2) * size;
  writeText(doc, line, left, y, { size, color, baselineOffset });
  return width;
}
