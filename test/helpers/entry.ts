import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The Node options every production command uses (npm run web/worker/start, the image, compose,
 * the run scripts, dev-stack.sh; test/ops/compose.test.ts holds them to this list).
 */
export const RUNTIME_FLAGS = ["--max-semi-space-size=4", "--v8-pool-size=1"] as const;

/**
 * The compiled file production runs for a source entry ("app/main.ts" → "dist/app/main.js").
 * Tests start the same JavaScript the npm scripts and the image run; `npm test` builds it first.
 */
export function compiledEntry(entry: string): string {
  if (entry.endsWith(".js")) return entry; // already compiled (e.g. the image's own command)
  const js = `dist/${entry.replace(/\.ts$/, ".js")}`;
  if (!existsSync(`${ROOT}/${js}`)) throw new Error(`${js} is missing: run \`npm run build\` (npm test does)`);
  return js;
}
