import type { Logger } from "./logger.js";

/** Ordered shutdown steps under a force-quit timer; run() is idempotent and runs every step despite errors. */
export interface Shutdown {
  add(name: string, step: () => Promise<unknown> | unknown): Shutdown;
  run(reason: string): Promise<number>;
  /** Runs on SIGTERM and SIGINT, then exits with run()'s code. */
  onSignals(exit?: (code: number) => void): void;
}

/** Creates a shutdown sequence; steps run in the order added. */
export function createShutdown(opts: { logger: Logger; timeoutMs: number }): Shutdown {
  const steps: Array<{ name: string; step: () => Promise<unknown> | unknown }> = [];
  let running: Promise<number> | null = null;
  const shutdown: Shutdown = {
    add(name, step) {
      steps.push({ name, step });
      return shutdown;
    },
    run(reason) {
      running ??= (async () => {
        opts.logger.info({ reason }, "shutting down");
        let code = 0;
        const timer = setTimeout(() => {
          opts.logger.error({ timeoutMs: opts.timeoutMs }, "shutdown timed out; forcing exit");
          process.exit(1);
        }, opts.timeoutMs);
        timer.unref();
        for (const { name, step } of steps) {
          try {
            await step();
          } catch (err) {
            code = 1;
            opts.logger.error({ err, step: name }, "shutdown step failed");
          }
        }
        clearTimeout(timer);
        opts.logger.info("shutdown complete");
        // Log lines are written asynchronously: make sure the last ones are out before exit.
        await new Promise<void>((resolve) => opts.logger.flush(() => resolve()));
        return code;
      })();
      return running;
    },
    onSignals(exit = (code) => process.exit(code)) {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => void shutdown.run(signal).then(exit));
      }
    },
  };
  return shutdown;
}
