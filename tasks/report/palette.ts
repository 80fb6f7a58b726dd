/** One colour per species, from the Okabe–Ito palette so the report survives colour blindness and greyscale. */
export const SPECIES_COLOURS: Readonly<Record<string, string>> = Object.freeze({
  setosa: "#E69F00",
  versicolor: "#0072B2",
  virginica: "#009E73",
});

const UNKNOWN_COLOUR = "#888888";
/** Body text. */
export const INK = "#1A1A1A";
/** Captions, ticks and secondary text. */
export const MUTED = "#666666";
/** The scatter plot's grid lines. */
export const GRID = "#E6E6E6";
/** Hairlines and table rules. */
export const RULE = "#CCCCCC";

/** The colour for a species, grey for one the palette does not know. */
export function speciesColour(species: string): string {
  return SPECIES_COLOURS[species] ?? UNKNOWN_COLOUR;
}
