import type { Logger } from "./logger.js";

/** Something a process needs before it is ready, and how to ask it. */
export interface DependencyCheck {
  /** As an operator says it: "RabbitMQ", "Redis". */
  name: string;
  check: () => Promise<unknown>;
}

/** How often the checks run while something is missing. */
const INTERVAL_MS = 250;
/** How long one check may take (a hung dependency must not stall the loop). */
const CHECK_TIMEOUT_MS = 1500;
/** Connections opened at start get this long before "missing" is logged, so a normal start is quiet. */
const QUIET_MS = 1000;

/** "A", "A and B", "A, B and C". */
const sentence = (names: string[]) =>
  names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

async function answers(check: () => Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([check().then(() => true), deadline]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once every check answers (the connections themselves retry in the background). While
 * something is missing it logs one warn line each time the missing set changes, e.g.
 * `{"missing":["RabbitMQ","Redis"],"msg":"not ready: waiting for RabbitMQ and Redis"}`.
 * Rejects when `signal` aborts (shutdown while waiting).
 */
export async function waitForDependencies(opts: {
  checks: DependencyCheck[];
  logger: Logger;
  signal?: AbortSignal;
  intervalMs?: number;
  timeoutMs?: number;
}): Promise<void> {
  const started = performance.now();
  let logged = "";
  for (;;) {
    opts.signal?.throwIfAborted();
    const results = await Promise.all(opts.checks.map((c) => answers(c.check, opts.timeoutMs ?? CHECK_TIMEOUT_MS)));
    opts.signal?.throwIfAborted();
    const missing = opts.checks.filter((_, i) => !results[i]).map((c) => c.name);
    if (missing.length === 0) return;
    if (performance.now() - started >= QUIET_MS && missing.join() !== logged) {
      logged = missing.join();
      opts.logger.warn({ missing }, `not ready: waiting for ${sentence(missing)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? INTERVAL_MS));
  }
}
