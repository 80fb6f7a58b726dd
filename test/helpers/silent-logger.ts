import { createLogger } from "../../tasks/logger.js";

/** A logger that writes nothing, for tests; LOG_LEVEL=debug in the environment shows the lines. */
export const silentLogger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
