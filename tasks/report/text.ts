import PDFDocument from "pdfkit";

type Doc = typeof PDFDocument;

/** The standard PDF fonts the reports use: Helvetica's four faces, never embedded. */
export type ReportFont = "Helvetica" | "Helvetica-Bold" | "Helvetica-Oblique" | "Helvetica-BoldOblique";

/** The page resource name of each face. */
const RESOURCE: Readonly<Record<ReportFont, string>> = {
  Helvetica: "Hv",
  "Helvetica-Bold": "HvB",
  "Helvetica-Oblique": "HvO",
  "Helvetica-BoldOblique": "HvBO",
};

/** Helvetica's ascender (all four faces' AFM), in 1/1000 em: where a "top" baseline sits. */
export const ASCENDER = 718;

/*
 * Why not doc.font() and doc.text(): PDFKit builds each standard font's metrics afresh in every
 * document that uses it (expanding the kerning table into a new object), ~0.27 ms a face and 1.1
 * ms for the report's four, a third of a report's render. Here the metrics are PDFKit's own, read
 * once per process through its public widthOfString on one long-lived measuring document, and
 * each document gets a plain Type1 font dictionary (doc.ref) and the same text operators PDFKit
 * writes (test/unit/report-text.test.ts compares them with PDFKit's).
 */

/** Unicode → WinAnsiEncoding for the code points outside Latin-1 that it has (0x80–0x9F). */
// prettier-ignore
const WIN_ANSI_EXTRA: ReadonlyMap<number, number> = new Map([
  [0x20ac, 0x80], [0x201a, 0x82], [0x0192, 0x83], [0x201e, 0x84], [0x2026, 0x85], [0x2020, 0x86],
  [0x2021, 0x87], [0x02c6, 0x88], [0x2030, 0x89], [0x0160, 0x8a], [0x2039, 0x8b], [0x0152, 0x8c],
  [0x017d, 0x8e], [0x2018, 0x91], [0x2019, 0x92], [0x201c, 0x93], [0x201d, 0x94], [0x2022, 0x95],
  [0x2013, 0x96], [0x2014, 0x97], [0x02dc, 0x98], [0x2122, 0x99], [0x0161, 0x9a], [0x203a, 0x9b],
  [0x0153, 0x9c], [0x017e, 0x9e], [0x0178, 0x9f],
]);
const QUESTION_MARK = 0x3f;

/** A string's WinAnsi codes; a character the encoding lacks becomes "?", drawn and measured alike. */
export function winAnsiCodes(text: string): number[] {
  const codes: number[] = [];
  for (const ch of text) {
    const u = ch.codePointAt(0)!;
    if ((u >= 0x20 && u < 0x7f) || (u >= 0xa0 && u <= 0xff)) codes.push(u);
    else codes.push(WIN_ANSI_EXTRA.get(u) ?? QUESTION_MARK);
  }
  return codes;
}

/** The character PDFKit's measurer maps to WinAnsi `code`. */
const UNICODE_OF: ReadonlyMap<number, string> = new Map(
  [...WIN_ANSI_EXTRA].map(([u, c]) => [c, String.fromCodePoint(u)]),
);
const charOf = (code: number): string => UNICODE_OF.get(code) ?? String.fromCharCode(code);

interface FaceMetrics {
  widths: Map<number, number>;
  kerns: Map<number, number>;
}
const metrics = new Map<ReportFont, FaceMetrics>();
let measurer: Doc | undefined;

/** Width of `s` in 1/1000 em, by PDFKit itself (kerning included). */
function measure(font: ReportFont, s: string): number {
  measurer ??= new PDFDocument({ autoFirstPage: false, font: "" });
  return measurer.font(font).fontSize(1000).widthOfString(s);
}

function faceMetrics(font: ReportFont): FaceMetrics {
  let m = metrics.get(font);
  if (!m) metrics.set(font, (m = { widths: new Map(), kerns: new Map() }));
  return m;
}

function glyphWidth(m: FaceMetrics, font: ReportFont, code: number): number {
  let w = m.widths.get(code);
  if (w === undefined) m.widths.set(code, (w = measure(font, charOf(code))));
  return w;
}

/** The kerning between two codes, in 1/1000 em (0 for most pairs); at most 224² entries a face. */
function kern(m: FaceMetrics, font: ReportFont, left: number, right: number): number {
  const key = left * 256 + right;
  let k = m.kerns.get(key);
  if (k === undefined) {
    k = measure(font, charOf(left) + charOf(right)) - glyphWidth(m, font, left) - glyphWidth(m, font, right);
    m.kerns.set(key, k);
  }
  return k;
}

/** One line set in one face: its width and its kerned TJ operand, from one pass over its codes. */
export interface TextLine {
  font: ReportFont;
  /** Width in 1/1000 em (kerning included): times the size / 1000 gives points. */
  units: number;
  /** The TJ array's contents, e.g. `<4156> 55 <41> 0`; empty for an empty line. */
  tj: string;
}

/** Sets `text` in `font`: what `textWidth` measures and `writeText` writes. */
export function setLine(text: string, font: ReportFont): TextLine {
  const m = faceMetrics(font);
  const codes = winAnsiCodes(text);
  const parts: string[] = [];
  let units = 0;
  let hex = "";
  for (let i = 0; i < codes.length; i++) {
    units += glyphWidth(m, font, codes[i]!);
    hex += codes[i]!.toString(16);
    const k = i + 1 < codes.length ? kern(m, font, codes[i]!, codes[i + 1]!) : 0;
    if (k !== 0) {
      units += k;
      parts.push(`<${hex}> ${num(-k)}`);
      hex = "";
    }
  }
  if (hex) parts.push(`<${hex}> 0`);
  return { font, units, tj: parts.join(" ") };
}

/** Width of `text` set in `font` at `size` points, as PDFKit's widthOfString gives it. */
export function textWidth(text: string, font: ReportFont, size: number): number {
  return (setLine(text, font).units * size) / 1000;
}

/** PDFKit's number format in content streams: at most six decimals. */
const num = (n: number): string => String(Math.round(n * 1e6) / 1e6);

/** "#RRGGBB" as the operands of rg. */
function rgb(hex: string): string {
  return [1, 3, 5].map((i) => num(parseInt(hex.slice(i, i + 2), 16) / 255)).join(" ");
}

/**
 * The font dictionaries of each document being drawn, one per face used, shared by its pages,
 * until `releaseFonts`. Not a WeakMap: a WeakMap's value that holds its key (a ref holds its
 * document) kept every document alive through V8's young-generation collections, so each was
 * copied and promoted whole and freed only by a full collection; in a loop of renders that was
 * 3 MB promoted a scavenge and a third of the render's CPU (BENCHMARKS.md, "The afternoon of
 * 2026-12-03").
 */
const fontRefs = new Map<Doc, Map<ReportFont, ReturnType<Doc["ref"]>>>();

/**
 * Forgets `doc`'s font dictionaries: call it once the document is drawn (its pages already name
 * them), whether drawing finished or threw.
 */
export function releaseFonts(doc: Doc): void {
  fontRefs.delete(doc);
}

/** How many documents hold font dictionaries here (0 between renders). */
export function documentsWithFonts(): number {
  return fontRefs.size;
}

/** Names `font` in the current page's resources and returns its resource name. */
function useFont(doc: Doc, font: ReportFont): string {
  let refs = fontRefs.get(doc);
  if (!refs) fontRefs.set(doc, (refs = new Map()));
  let ref = refs.get(font);
  if (!ref) {
    ref = doc.ref({ Type: "Font", BaseFont: font, Subtype: "Type1", Encoding: "WinAnsiEncoding" });
    ref.end(null);
    refs.set(font, ref);
  }
  const name = RESOURCE[font];
  doc.page.fonts[name] ??= ref;
  return name;
}

/** How `writeText` places one line. */
export interface TextStyle {
  size: number;
  /** "#RRGGBB". */
  color: string;
  /** Distance from `y` down to the baseline, in points (PDFKit's baseline "top" is the ascender). */
  baselineOffset: number;
}

/**
 * Writes one line with its left end at `x` and its baseline `baselineOffset` below `y` (page
 * coordinates, origin top left), kerned, in its own graphics state.
 */
export function writeText(doc: Doc, line: TextLine, x: number, y: number, style: TextStyle): void {
  if (!line.tj) return;
  const name = useFont(doc, line.font);
  const height = doc.page.height;
  doc.addContent(
    `q\n${rgb(style.color)} rg\n1 0 0 -1 0 ${num(height)} cm\nBT\n` +
      `1 0 0 1 ${num(x)} ${num(height - y - style.baselineOffset)} Tm\n/${name} ${num(style.size)} Tf\n` +
      `[${line.tj}] TJ\nET\nQ`,
  );
}
