import { loadAppConfig, type AppConfig } from "./config.js";

/** Loads the web config or exits with the message naming the bad variables. */
export function loadAppConfigOrExit(): AppConfig {
  try {
    return loadAppConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
