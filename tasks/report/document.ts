import PDFDocument from "pdfkit";
import { installBatchedWrites } from "./pdf-writes.js";

type Doc = InstanceType<typeof PDFDocument>;

// Every document of this process gathers its writes (same bytes, a fifth less render time).
installBatchedWrites();

/** The standard fonts the reports use. */
const FONTS = ["Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique"] as const;

/** PDFKit's internals this module relies on (pinned by package-lock.json; covered by report tests). */
interface FontInternals {
  _font: object | null;
  _fontCount: number;
  _fontFamilies: Record<string, object>;
}

/**
 * One parsed standard font per name for the whole process. PDFKit parses a font's AFM metrics
 * (glyph widths, ~2,700 kerning pairs) for every document that uses it: in a profile of the
 * worker that was 15% of its CPU. The parsed metrics are read-only, so documents can share them.
 */
const templates = new Map<string, object>();

function template(name: string): object {
  let font = templates.get(name);
  if (!font) {
    font = (new PDFDocument({ font: name, autoFirstPage: false }) as unknown as FontInternals)._font!;
    memoizeMeasures(font as StandardFontInternals);
    templates.set(name, font);
  }
  return font;
}

/** The two methods of PDFKit's StandardFont that look up glyphs and kerning pairs for a string. */
interface StandardFontInternals {
  encode(text: string, features?: unknown): [string[], object[]];
  widthOfString(text: string, size: number): number;
}

/** How many distinct strings each font remembers; labels repeat, ids and dates do not. */
const MEASURE_CACHE_SIZE = 2000;

/**
 * Remembers, per font, the glyph codes, advances and widths of the strings it has measured: a
 * report's labels are the same every time, and looking up their glyphs and kerning pairs was
 * ~10% of a worker's CPU. The results are frozen (PDFKit only reads them) and shared by every
 * document, like the metrics themselves.
 */
function memoizeMeasures(font: StandardFontInternals): void {
  const proto = Object.getPrototypeOf(font) as StandardFontInternals;
  const encoded = new Map<string, [string[], object[]]>();
  const widths = new Map<string, number>();
  const remember = <V>(cache: Map<string, V>, key: string, value: V): V => {
    if (cache.size >= MEASURE_CACHE_SIZE) cache.clear();
    cache.set(key, value);
    return value;
  };
  font.encode = function (text, features) {
    const hit = encoded.get(text);
    if (hit) return hit;
    const [codes, positions] = proto.encode.call(this, text, features);
    return remember(
      encoded,
      text,
      Object.freeze([Object.freeze(codes), Object.freeze(positions.map((p) => Object.freeze(p)))]) as [
        string[],
        object[],
      ],
    );
  };
  // The width at 1000 units scaled the way PDFKit scales it, so results are identical.
  font.widthOfString = function (text, size) {
    const units = widths.get(text) ?? remember(widths, text, proto.widthOfString.call(this, text, 1000));
    return units * (size / 1000);
  };
}

/**
 * A PDFKit document whose standard fonts reuse the process's parsed metrics. Each document still
 * gets its own font objects (its own resource ids and dictionaries, embedded only if used); the
 * page is the same as with PDFKit's own loading, only the fonts' resource names are numbered in a
 * fixed order.
 */
export function createDocument(options: ConstructorParameters<typeof PDFDocument>[0]): Doc {
  // font: null stops PDFKit parsing its default font; ours is installed just below.
  const doc = new PDFDocument({ ...options, font: null as unknown as string });
  const internals = doc as unknown as FontInternals;
  for (const name of FONTS) {
    const shared = template(name);
    internals._fontFamilies[name] = Object.assign(Object.create(Object.getPrototypeOf(shared)), shared, {
      document: doc,
      id: `F${++internals._fontCount}`,
      dictionary: null,
      embedded: false,
    });
  }
  doc.font("Helvetica");
  return doc;
}
