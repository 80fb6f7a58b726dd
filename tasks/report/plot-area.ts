import type { Box } from "./shapes.js";

/** The scatter plot's frame on the page and the data range it shows (from 0 to the maxima, in cm). */
export interface PlotArea extends Box {
  xMax: number;
  yMax: number;
  /** Distance between the y axis's ticks. */
  yStep: number;
}

/** Page x of a petal length. */
export const px = (p: PlotArea, v: number): number => p.x + (v / p.xMax) * p.width;
/** Page y of a petal width (the page's y grows downwards). */
export const py = (p: PlotArea, v: number): number => p.y + p.height - (v / p.yMax) * p.height;
