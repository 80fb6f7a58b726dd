import { deflateSync } from "node:zlib";
import type PDFDocument from "pdfkit";
import { speciesColour } from "./palette.js";
import { px, py, type PlotArea } from "./plot-area.js";
import type { TrainingFlower } from "./training-data.js";

type Doc = typeof PDFDocument;

/** The fill opacity of the training points (so the marked flower and overlaps stay visible). */
const TRAINING_OPACITY = 0.7;
const POINT_RADIUS = 2.6;
/** Few plot geometries exist in practice; the cap only stops an odd caller growing the cache forever. */
const MAX_GEOMETRIES = 32;

/**
 * The training points' content stream, deflated, per training set and plot geometry. The 150
 * flowers never move, so their 600 Béziers are formatted and compressed once per process rather
 * than in every report's page stream.
 */
const streams = new WeakMap<readonly TrainingFlower[], Map<string, Buffer>>();

/**
 * Draws the training flowers as a Form XObject, built with PDFKit's public `ref`, `page.xobjects`
 * and `addContent`: each report copies the cached compressed stream and places it with one `Do`.
 */
export function drawTrainingPoints(doc: Doc, plot: PlotArea, training: readonly TrainingFlower[]): void {
  const opacity = doc.ref({ Type: "ExtGState", ca: TRAINING_OPACITY });
  opacity.end(null);
  const form = doc.ref({
    Type: "XObject",
    Subtype: "Form",
    // Form space is the page's user space (the form has no Matrix): the whole page bounds it.
    BBox: [0, 0, doc.page.width, doc.page.height],
    Resources: { ExtGState: { Gt: opacity } },
    // Already deflated: PDFKit writes a stream that declares its Filter as it is.
    Filter: "FlateDecode",
  });
  form.end(streamFor(training, plot));
  doc.page.xobjects.Tp = form;
  doc.addContent("/Tp Do");
}

function streamFor(training: readonly TrainingFlower[], plot: PlotArea): Buffer {
  let byGeometry = streams.get(training);
  if (!byGeometry) streams.set(training, (byGeometry = new Map()));
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
    if (byGeometry.size >= MAX_GEOMETRIES) byGeometry.clear();
    byGeometry.set(key, stream);
  }
  return stream;
}

/** "#RRGGBB" as the operands of the rg operator. */
function rgb(hex: string): string {
  return [1, 3, 5].map((i) => String(Math.round((parseInt(hex.slice(i, i + 2), 16) / 255) * 1000) / 1000)).join(" ");
}

/**
 * A circle as four Béziers, in the form's coordinates. PDFKit flips the page's y axis in the page
 * content before the form is placed, so these are the same top-left-origin points as the rest.
 */
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
