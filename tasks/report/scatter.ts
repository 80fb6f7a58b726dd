import type PDFDocument from "pdfkit";
import { drawLabel } from "./label.js";
import { GRID, MUTED, SPECIES_COLOURS, speciesColour } from "./palette.js";
import { px, py, type PlotArea } from "./plot-area.js";
import { diamond, star, type Box } from "./shapes.js";
import type { TrainingFlower } from "./training-data.js";
import { textWidth } from "./text.js";
import { drawTrainingPoints } from "./training-points.js";

type Doc = typeof PDFDocument;

/** A sample to mark on the scatter; coloured by its predicted species when given. */
export interface HighlightPoint {
  petalLength: number;
  petalWidth: number;
  species?: string;
}

/** What the scatter plots: the training flowers as the backdrop, and the submitted sample(s). */
export interface ScatterData {
  training: readonly TrainingFlower[];
  highlight: readonly HighlightPoint[];
}

const LEGEND_HEIGHT = 16;
const PAD = { left: 46, right: 6, top: LEGEND_HEIGHT + 8, bottom: 36 };

/** Petal length (x) × petal width (y) scatter of the training flowers, with the highlight marked. */
export function drawScatter(doc: Doc, box: Box, data: ScatterData): void {
  const plot: PlotArea = {
    x: box.x + PAD.left,
    y: box.y + PAD.top,
    width: box.width - PAD.left - PAD.right,
    height: box.height - PAD.top - PAD.bottom,
    ...domainFor(data),
  };
  drawAxes(doc, plot);
  drawTrainingPoints(doc, plot, data.training);
  drawHighlight(doc, plot, data.highlight);
  drawLegend(doc, box, plot, data);
}

function domainFor({ training, highlight }: ScatterData): Pick<PlotArea, "xMax" | "yMax" | "yStep"> {
  let xMax = 0;
  let yMax = 0;
  for (const f of [...training, ...highlight]) {
    xMax = Math.max(xMax, f.petalLength);
    yMax = Math.max(yMax, f.petalWidth);
  }
  // Grown to whole ticks with headroom so any valid sample lands inside the frame; the epsilon
  // keeps 6.9 + 0.1 from rounding up to an empty eighth column.
  const yStep = yMax <= 3 ? 0.5 : yMax <= 6 ? 1 : 2;
  return {
    xMax: Math.ceil(xMax + 0.1 - 1e-9),
    yMax: Math.ceil((yMax + 0.2 - 1e-9) / yStep) * yStep,
    yStep,
  };
}

// Counted in steps, not summed, so 0.5-steps cannot drift past the last tick.
function ticks(max: number, step: number): number[] {
  return Array.from({ length: Math.round(max / step) + 1 }, (_, i) => i * step);
}

function drawAxes(doc: Doc, plot: PlotArea): void {
  const bottom = plot.y + plot.height;
  const right = plot.x + plot.width;
  const xs = ticks(plot.xMax, 1).map((v) => ({ v, at: px(plot, v) }));
  const ys = ticks(plot.yMax, plot.yStep).map((v) => ({ v, at: py(plot, v) }));
  doc.lineWidth(0.5).strokeColor(GRID);
  for (const { at } of xs) doc.moveTo(at, plot.y).lineTo(at, bottom);
  for (const { at } of ys) doc.moveTo(plot.x, at).lineTo(right, at);
  doc.stroke();
  doc.lineWidth(0.8).strokeColor(MUTED).rect(plot.x, plot.y, plot.width, plot.height).stroke();

  // Tick marks are stroked before any label: text operators may not interrupt a path.
  for (const { at } of xs) doc.moveTo(at, bottom).lineTo(at, bottom + 3);
  for (const { at } of ys) doc.moveTo(plot.x - 3, at).lineTo(plot.x, at);
  doc.stroke();
  const tick = { size: 8, color: MUTED };
  const decimals = plot.yStep < 1 ? 1 : 0;
  for (const { v, at } of xs) drawLabel(doc, String(v), at, bottom + 6, { ...tick, align: "center" });
  for (const { v, at } of ys)
    drawLabel(doc, v.toFixed(decimals), plot.x - 6, at, { ...tick, align: "right", valign: "middle" });

  const axis = { font: "Helvetica-Bold" as const, size: 9, align: "center" as const };
  drawLabel(doc, "Petal length (cm)", plot.x + plot.width / 2, bottom + 22, axis);
  const yLabelX = plot.x - 40;
  const yLabelY = plot.y + plot.height / 2;
  doc.save().rotate(-90, { origin: [yLabelX, yLabelY] });
  drawLabel(doc, "Petal width (cm)", yLabelX, yLabelY, axis);
  doc.restore();
}

function drawHighlight(doc: Doc, plot: PlotArea, points: readonly HighlightPoint[]): void {
  if (points.length === 1) {
    const p = points[0]!;
    const x = px(plot, p.petalLength);
    const y = py(plot, p.petalWidth);
    // A white halo first, so the star reads against a dense cluster of its own colour.
    doc.lineWidth(4).strokeColor("#FFFFFF");
    star(doc, x, y, 10);
    doc.stroke();
    doc.lineWidth(1.4).fillColor(markerFill(p)).strokeColor("#000000");
    star(doc, x, y, 10);
    doc.fillAndStroke();
    drawCallout(doc, plot, x, y);
    return;
  }
  // Many rows (a batch): small outlined diamonds so the training data stays readable beneath.
  const r = points.length <= 20 ? 4 : 3;
  doc.lineWidth(0.6).strokeColor("#000000");
  for (const p of points) {
    doc.fillColor(markerFill(p));
    diamond(doc, px(plot, p.petalLength), py(plot, p.petalWidth), r);
    doc.fillAndStroke();
  }
}

function drawCallout(doc: Doc, plot: PlotArea, x: number, y: number): void {
  const text = "Your flower";
  const w = textWidth(text, "Helvetica-Bold", 9) + 8;
  const h = 14;
  // Up and to the left is where Iris data is sparsest; flip when that would leave the frame.
  const left = x - 16 - w >= plot.x + 2;
  const up = y - 16 - h >= plot.y + 2;
  const bx = left ? x - 16 - w : x + 16;
  const by = up ? y - 16 - h : y + 16;
  doc.lineWidth(0.8).strokeColor("#000000").fillColor("#FFFFFF").fillOpacity(0.9);
  doc
    .moveTo(x + (left ? -7 : 7), y + (up ? -7 : 7))
    .lineTo(left ? bx + w : bx, up ? by + h : by)
    .stroke();
  doc.roundedRect(bx, by, w, h, 3).fillAndStroke();
  doc.fillOpacity(1);
  drawLabel(doc, text, bx + w / 2, by + h / 2, { font: "Helvetica-Bold", size: 9, align: "center", valign: "middle" });
}

function drawLegend(doc: Doc, box: Box, plot: PlotArea, data: ScatterData): void {
  // Above the frame, not inside it, so it can never hide a point.
  const y = box.y + LEGEND_HEIGHT / 2;
  let x = plot.x;
  for (const species of Object.keys(SPECIES_COLOURS)) {
    doc
      .fillColor(speciesColour(species))
      .circle(x + 4, y, 4)
      .fill();
    x += 12 + drawLabel(doc, species, x + 12, y, { font: "Helvetica-Oblique", size: 9, valign: "middle" }) + 16;
  }
  const n = data.highlight.length;
  if (n > 0) {
    doc
      .lineWidth(0.8)
      .strokeColor("#000000")
      .fillColor(n === 1 ? markerFill(data.highlight[0]!) : "#FFFFFF");
    if (n === 1) star(doc, x + 6, y, 6);
    else diamond(doc, x + 6, y, 4);
    doc.fillAndStroke();
    x += 16 + drawLabel(doc, n === 1 ? "Your flower" : `Your flowers (${n})`, x + 16, y, { size: 9, valign: "middle" });
  }
  const count = `${data.training.length} training flowers`;
  if (x + 12 + textWidth(count, "Helvetica", 8) > plot.x + plot.width) return;
  drawLabel(doc, count, plot.x + plot.width, y, { size: 8, color: MUTED, align: "right", valign: "middle" });
}

function markerFill(p: HighlightPoint): string {
  return p.species ? speciesColour(p.species) : "#FFFFFF";
}
