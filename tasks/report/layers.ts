import { deflateSync } from "node:zlib";
import type PDFDocument from "pdfkit";
import { createDocument } from "./document.js";

type Doc = typeof PDFDocument;

/** PDFKit's internals a layer relies on (pinned by package-lock.json; covered by the report tests). */
interface LayerInternals {
  ref(data: object): { end(chunk?: Uint8Array): void };
  addContent(operators: string): unknown;
  page: {
    width: number;
    height: number;
    xobjects: Record<string, unknown>;
    resources: { data: Record<string, unknown> };
  };
  _fontFamilies: Record<string, { id: string; ref(): unknown }>;
}

/** A drawing recorded once: its operators deflated, and the fonts they name. */
interface Recorded {
  stream: Buffer;
  fonts: string[];
}

/** Recorded layers by key. Few keys exist in practice; the cap only stops an odd caller growing it. */
const recorded = new Map<string, Recorded>();
const MAX_LAYERS = 64;

/**
 * Draws `draw`'s output as a Form XObject recorded once per process and `key`.
 *
 * The report's fixed parts (the scatter plot's grid, ticks and axis titles) are the same
 * operators in every report: `draw` runs once on a scratch page, its operators are deflated and
 * kept, and each report copies the compressed bytes and places them with one `Do`. The page looks
 * the same: the form inherits the graphics state at the point it is placed, exactly as the
 * operators would, and everything it changes ends with it.
 *
 * `key` must name everything the drawing depends on. `draw` may only use the standard fonts,
 * colours and paths (no images, opacity or patterns): it throws otherwise.
 */
export function drawLayer(doc: Doc, key: string, draw: (doc: Doc) => void): void {
  let layer = recorded.get(key);
  if (!layer) {
    layer = record(draw, doc as unknown as LayerInternals);
    if (recorded.size >= MAX_LAYERS) recorded.clear();
    recorded.set(key, layer);
  }
  const d = doc as unknown as LayerInternals;
  const fontsById = new Map(Object.values(d._fontFamilies).map((f) => [f.id, f]));
  const fonts = Object.fromEntries(layer.fonts.map((id) => [id, fontsById.get(id)!.ref()]));
  placeForm(doc, `L${Object.keys(d.page.xobjects).length + 1}`, { Font: fonts }, layer.stream);
}

/**
 * Places an already deflated content stream as a Form XObject named `name`, with `resources`,
 * at this point of the page: a few bytes of page content and one copied stream.
 */
export function placeForm(doc: Doc, name: string, resources: object, deflated: Buffer): void {
  const d = doc as unknown as LayerInternals;
  const form = d.ref({
    Type: "XObject",
    Subtype: "Form",
    // Form space is the page's user space (the form has no Matrix): the whole page bounds it.
    BBox: [0, 0, d.page.width, d.page.height],
    Resources: resources,
    // Already deflated: PDFKit copies a stream that declares its Filter as it is.
    Filter: "FlateDecode",
  });
  form.end(deflated);
  d.page.xobjects[name] = form;
  d.addContent(`/${name} Do`);
}

function record(draw: (doc: Doc) => void, like: LayerInternals): Recorded {
  // Same page size and font resource names as the documents it is placed in.
  const scratch = createDocument({ size: [like.page.width, like.page.height], margin: 0 });
  const s = scratch as unknown as LayerInternals;
  const operators: string[] = [];
  s.addContent = (ops: string) => {
    operators.push(ops);
    return scratch;
  };
  draw(scratch);
  const resources = Object.keys(s.page.resources.data).filter((k) => k !== "ProcSet" && k !== "Font");
  if (resources.length) throw new Error(`a recorded layer may only use fonts, not ${resources.join(", ")}`);
  const fonts = Object.keys((s.page.resources.data.Font ?? {}) as object);
  for (const id of fonts) {
    if (!Object.values(s._fontFamilies).some((f) => f.id === id)) throw new Error(`layer font ${id} is not a standard font`);
  }
  return { stream: deflateSync(Buffer.from(operators.join("\n"), "latin1")), fonts };
}
