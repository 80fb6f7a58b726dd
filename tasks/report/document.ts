import PDFDocument from "pdfkit";

type Doc = InstanceType<typeof PDFDocument>;

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
    templates.set(name, font);
  }
  return font;
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
