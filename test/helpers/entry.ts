import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The Node options every production command uses (npm run web/worker/start, the image, compose,
 * the run scripts, dev-stack.sh; test/ops/compose.test.ts holds them to these lists): one V8
 * helper thread; a worker also keeps a 4 MB young generation (the web keeps V8's default, which
 * its synchronous predicts need). BENCHMARKS.md has the measurements.
 */
export const RUNTIME_FLAGS = {
  web: ["--v8-pool-size=1"],
  worker: ["--max-semi-space-size=4", "--v8-pool-size=1"],
} as const;

/** The Node options for a source entry: a worker's for tasks/, the web's otherwise. */
export function runtimeFlags(entry: string): readonly string[] {
  return entry.startsWith("tasks/") || entry.startsWith("dist/tasks/") ? RUNTIME_FLAGS.worker : RUNTIME_FLAGS.web;
}

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
