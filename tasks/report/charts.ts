import { deflateSync } from "node:zlib";
import type PDFDocument from "pdfkit";
import { drawLayer, placeForm } from "./layers.js";
import type { TrainingFlower } from "./training-data.js";

type Doc = typeof PDFDocument;

/** A rectangle on the page, in PDF points from the top-left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One colour per species, from the Okabe–Ito palette so the report survives colour blindness and greyscale. */
export const SPECIES_COLOURS: Readonly<Record<string, string>> = Object.freeze({
  setosa: "#E69F00",
  versicolor: "#0072B2",
  virginica: "#009E73",
});

const UNKNOWN_COLOUR = "#888888";
const INK = "#1A1A1A";
const MUTED = "#666666";
const GRID = "#E6E6E6";
// Helvetica's cap height; lets "middle" centre digits and capitals rather than the em box.
const CAP_HEIGHT = 0.718;

/** The colour for a species, grey for one the palette does not know. */
export function speciesColour(species: string): string {
  return SPECIES_COLOURS[species] ?? UNKNOWN_COLOUR;
}

/** How `drawLabel` places and styles one line of text. */
export interface LabelOptions {
  font?: string;
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
  doc.font(font).fontSize(size);
  let shown = text;
  let width = doc.widthOfString(shown);
  if (maxWidth !== undefined && width > maxWidth) {
    size = Math.max(size * 0.7, size * (maxWidth / width));
    doc.fontSize(size);
    width = doc.widthOfString(shown);
    while (width > maxWidth && shown.length > 1) {
      shown = shown.slice(0, -1);
      width = doc.widthOfString(`${shown}…`);
    }
    if (shown !== text) shown = `${shown}…`;
  }
  const left = align === "left" ? x : align === "center" ? x - width / 2 : x - width;
  const baseline = valign === "top" ? "top" : valign === "baseline" ? "alphabetic" : -(CAP_HEIGHT / 2) * size;
  doc.fillColor(color).text(shown, left, y, { lineBreak: false, baseline });
  return width;
}

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
  doc.font("Helvetica-BoldOblique").fontSize(size);
  const nameWidth = Math.max(...classes.map((c) => doc.widthOfString(c))) + 10;
  doc.font("Helvetica-Bold");
  const pctWidth = doc.widthOfString("100.0%") + 8;
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

interface Domain {
  xMax: number;
  yMax: number;
  yStep: number;
}

interface Plot extends Box, Domain {}

/**
 * The training points as a compressed Form XObject stream, keyed by plot geometry: the 150
 * flowers never move, so their 600 Béziers are formatted and deflated once per process rather
 * than in every report's page stream (zlib was 12% of a worker's CPU before).
 */
const trainingForms = new WeakMap<readonly TrainingFlower[], Map<string, Buffer>>();
/** The fill opacity of the training points (so the marked flower and overlaps stay visible). */
const TRAINING_OPACITY = 0.7;
const POINT_RADIUS = 2.6;
const LEGEND_HEIGHT = 16;
const PAD = { left: 46, right: 6, top: LEGEND_HEIGHT + 8, bottom: 36 };

/** Petal length (x) × petal width (y) scatter of the training flowers, with the highlight marked. */
export function drawScatter(doc: Doc, box: Box, data: ScatterData): void {
  const domain = domainFor(data);
  const plot: Plot = {
    x: box.x + PAD.left,
    y: box.y + PAD.top,
    width: box.width - PAD.left - PAD.right,
    height: box.height - PAD.top - PAD.bottom,
    ...domain,
  };
  // The grid, ticks and axis titles depend on the plot's geometry and domain only.
  const geometry = `${plot.x},${plot.y},${plot.width},${plot.height},${plot.xMax},${plot.yMax},${plot.yStep}`;
  drawLayer(doc, `axes:${geometry}`, (d) => drawAxes(d, plot));
  drawTrainingPoints(doc, plot, data.training);
  drawHighlight(doc, plot, data.highlight);
  drawLegend(doc, box, plot, data);
}

function domainFor({ training, highlight }: ScatterData): Domain {
  let xMax = 0;
  let yMax = 0;
  for (const f of training) {
    xMax = Math.max(xMax, f.petalLength);
    yMax = Math.max(yMax, f.petalWidth);
  }
  for (const h of highlight) {
    xMax = Math.max(xMax, h.petalLength);
    yMax = Math.max(yMax, h.petalWidth);
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

/** Places the training points' form on the page: a few bytes of page content and one copied stream. */
function drawTrainingPoints(doc: Doc, plot: Plot, training: readonly TrainingFlower[]): void {
  // PDFKit's `ref` (pinned by package-lock.json; covered by the report tests).
  const opacity = (doc as unknown as { ref(data: object): { end(): void } }).ref({ Type: "ExtGState", ca: TRAINING_OPACITY });
  opacity.end();
  placeForm(doc, "Tp", { ExtGState: { Gt: opacity } }, trainingFormFor(training, plot));
}

function trainingFormFor(training: readonly TrainingFlower[], plot: Plot): Buffer {
  let byGeometry = trainingForms.get(training);
  if (!byGeometry) trainingForms.set(training, (byGeometry = new Map()));
  const key = `${plot.x},${plot.y},${plot.width},${plot.height},${plot.xMax},${plot.yMax}`;
  let stream = byGeometry.get(key);
  if (!stream) {
    const parts = new Map<string, string[]>();
    for (const f of training) {
      const path = circlePath(px(plot, f.petalLength), py(plot, f.petalWidth), POINT_RADIUS);
      const list = parts.get(f.species) ?? [];
      list.push(path);
      parts.set(f.species, list);
    }
    // One path and one fill per species, rather than 150 of each.
    const ops = ["/Gt gs"];
    for (const [species, paths] of parts) ops.push(`${rgb(speciesColour(species))} rg`, ...paths, "f");
    stream = deflateSync(Buffer.from(ops.join("\n"), "latin1"));
    // Few layouts exist in practice; the cap only stops an odd caller from growing it forever.
    if (byGeometry.size > 32) byGeometry.clear();
    byGeometry.set(key, stream);
  }
  return stream;
}

/** "#RRGGBB" as the operands of the rg operator. */
function rgb(hex: string): string {
  return [1, 3, 5].map((i) => String(Math.round((parseInt(hex.slice(i, i + 2), 16) / 255) * 1000) / 1000)).join(" ");
}

// Counted in steps, not summed, so 0.5-steps cannot drift past the last tick.
function ticks(max: number, step: number): number[] {
  return Array.from({ length: Math.round(max / step) + 1 }, (_, i) => i * step);
}

const px = (p: Plot, v: number): number => p.x + (v / p.xMax) * p.width;
const py = (p: Plot, v: number): number => p.y + p.height - (v / p.yMax) * p.height;

function drawAxes(doc: Doc, plot: Plot): void {
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

  const axis = { font: "Helvetica-Bold", size: 9, align: "center" as const };
  drawLabel(doc, "Petal length (cm)", plot.x + plot.width / 2, bottom + 22, axis);
  const yLabelX = plot.x - 40;
  const yLabelY = plot.y + plot.height / 2;
  doc.save().rotate(-90, { origin: [yLabelX, yLabelY] });
  drawLabel(doc, "Petal width (cm)", yLabelX, yLabelY, axis);
  doc.restore();
}

function drawHighlight(doc: Doc, plot: Plot, points: readonly HighlightPoint[]): void {
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

function drawCallout(doc: Doc, plot: Plot, x: number, y: number): void {
  const text = "Your flower";
  doc.font("Helvetica-Bold").fontSize(9);
  const w = doc.widthOfString(text) + 8;
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

function drawLegend(doc: Doc, box: Box, plot: Plot, data: ScatterData): void {
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
  doc.font("Helvetica").fontSize(8);
  if (x + 12 + doc.widthOfString(count) > plot.x + plot.width) return;
  drawLabel(doc, count, plot.x + plot.width, y, { size: 8, color: MUTED, align: "right", valign: "middle" });
}

/** A circle as four Béziers, in the page's user space (PDFKit has already flipped y). */
function circlePath(x: number, y: number, r: number): string {
  const k = r * 0.5522847498;
  const n = (v: number): string => String(Math.round(v * 100) / 100);
  const [l, rt, t, b] = [n(x - r), n(x + r), n(y - r), n(y + r)];
  const [cx, cy, xk0, xk1, yk0, yk1] = [n(x), n(y), n(x - k), n(x + k), n(y - k), n(y + k)];
  return [
    `${l} ${cy} m`,
    `${l} ${yk0} ${xk0} ${t} ${cx} ${t} c`,
    `${xk1} ${t} ${rt} ${yk0} ${rt} ${cy} c`,
    `${rt} ${yk1} ${xk1} ${b} ${cx} ${b} c`,
    `${xk0} ${b} ${l} ${yk1} ${l} ${cy} c h`,
  ].join(" ");
}

function markerFill(p: HighlightPoint): string {
  return p.species ? speciesColour(p.species) : "#FFFFFF";
}

function star(doc: Doc, x: number, y: number, r: number): void {
  const points: [number, number][] = [];
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push([x + radius * Math.cos(angle), y + radius * Math.sin(angle)]);
  }
  doc.polygon(...points);
}

function diamond(doc: Doc, x: number, y: number, r: number): void {
  doc.polygon([x, y - r], [x + r, y], [x, y + r], [x - r, y]);
}

/**
 * Fills a rectangle, setting the colour before the path: PDF forbids colour operators inside
 * a path, which PDFKit's `rect().fill(colour)` would emit.
 */
export function fillRect(doc: Doc, box: Box, colour: string): void {
  doc.fillColor(colour).rect(box.x, box.y, box.width, box.height).fill();
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(Math.max(v, 0), 1) : 0;
}

/** A probability as a percentage with one decimal, e.g. 0.9467 → "94.7%". */
export function formatPercent(p: number): string {
  return `${(clamp01(p) * 100).toFixed(1)}%`;
}
