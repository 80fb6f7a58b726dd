import type PDFDocument from "pdfkit";

type Doc = typeof PDFDocument;

/** A rectangle on the page, in PDF points from the top-left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Fills a rectangle, setting the colour before the path: PDF forbids colour operators inside
 * a path, which PDFKit's `rect().fill(colour)` would emit.
 */
export function fillRect(doc: Doc, box: Box, colour: string): void {
  doc.fillColor(colour).rect(box.x, box.y, box.width, box.height).fill();
}

/** A five-pointed star's path centred on (x, y), for the caller to fill or stroke. */
export function star(doc: Doc, x: number, y: number, r: number): void {
  const points: [number, number][] = [];
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    points.push([x + radius * Math.cos(angle), y + radius * Math.sin(angle)]);
  }
  doc.polygon(...points);
}

/** A diamond's path centred on (x, y), for the caller to fill or stroke. */
export function diamond(doc: Doc, x: number, y: number, r: number): void {
  doc.polygon([x, y - r], [x + r, y], [x, y + r], [x - r, y]);
}
