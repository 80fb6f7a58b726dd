import type PDFDocument from "pdfkit";
import { drawLabel } from "./label.js";
import { speciesColour } from "./palette.js";
import { fillRect, type Box } from "./shapes.js";
import { textWidth } from "./text.js";

type Doc = typeof PDFDocument;

/** Horizontal bars, one per class in `classes` order: name, bar, percentage; the winner in bold. */
export function drawProbabilityBars(
  doc: Doc,
  box: Box,
  probabilities: Record<string, number>,
  classes: string[],
): void {
  if (classes.length === 0) return;
  const size = 10;
  const winner = classes.reduce((a, b) => ((probabilities[b] ?? 0) > (probabilities[a] ?? 0) ? b : a));
  const nameWidth = Math.max(...classes.map((c) => textWidth(c, "Helvetica-BoldOblique", size))) + 10;
  const pctWidth = textWidth("100.0%", "Helvetica-Bold", size) + 8;
  const trackX = box.x + nameWidth;
  const trackWidth = Math.max(box.width - nameWidth - pctWidth, 10);
  const rowHeight = box.height / classes.length;
  const barHeight = Math.min(rowHeight * 0.6, 16);

  classes.forEach((name, i) => {
    const p = clamp01(probabilities[name] ?? 0);
    const mid = box.y + rowHeight * (i + 0.5);
    const bold = name === winner;
    drawLabel(doc, name, box.x, mid, {
      font: bold ? "Helvetica-BoldOblique" : "Helvetica-Oblique",
      size,
      valign: "middle",
      maxWidth: nameWidth - 6,
    });
    fillRect(doc, { x: trackX, y: mid - barHeight / 2, width: trackWidth, height: barHeight }, "#EFEFEF");
    // A hairline keeps a 0.4 % bar visible instead of vanishing.
    const bar = { x: trackX, y: mid - barHeight / 2, width: Math.max(trackWidth * p, 1), height: barHeight };
    if (p > 0) fillRect(doc, bar, speciesColour(name));
    drawLabel(doc, formatPercent(p), box.x + box.width, mid, {
      font: bold ? "Helvetica-Bold" : "Helvetica",
      size,
      align: "right",
      valign: "middle",
    });
  });
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : 0;
}

/** A probability as a percentage with one decimal, e.g. 0.9467 → "94.7%". */
export function formatPercent(p: number): string {
  return `${(clamp01(p) * 100).toFixed(1)}%`;
}
