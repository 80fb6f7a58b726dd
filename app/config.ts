import { z } from "zod";
import { checkTaskConfig, parseConfig, taskConfigShape } from "../tasks/config.js";
import { normaliseOrigin } from "./socket-origin.js";

const nonNegativeInt = (what: string) =>
  z.coerce.number({ error: `must be ${what}` }).int(`must be ${what}`).min(0, `must be ${what}`);

const ORIGIN_EXPECTED = "must be an http(s) origin such as https://iris.example.com (no path)";

/** The web process's configuration: the shared variables plus the HTTP-side ones. */
export const appConfigSchema = z.object({
  ...taskConfigShape,
  /** TCP port to listen on. */
  PORT: z.coerce
    .number({ error: "must be a port number (1-65535)" })
    .int("must be a port number (1-65535)")
    .min(1, "must be a port number (1-65535)")
    .max(65535, "must be a port number (1-65535)")
    .default(8080),
  /** Interface to bind. */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** Queue depth above which async submissions get 503. */
  MAX_QUEUE_DEPTH: nonNegativeInt("a whole number ≥ 0").default(10000),
  /** Most rows one batch may hold. */
  MAX_BATCH_ROWS: nonNegativeInt("a whole number ≥ 0").default(10000),
  /** Comma-separated tokens for the JSON API; empty means open. */
  API_TOKENS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((t) => t.trim()).filter(Boolean)),
  /** Submissions per client address per minute; 0 turns the limit off. */
  RATE_LIMIT_PER_MINUTE: nonNegativeInt("a whole number ≥ 0").default(0),
  /** Trust a proxy's X-Forwarded-For (client address) and X-Forwarded-Proto/-Host (the origin socket.io takes as its own). */
  TRUST_PROXY: z.enum(["0", "1"], { error: "must be 0 or 1" }).default("0").transform((v) => v === "1"),
  /**
   * Comma-separated origins (`https://host[:port]`, no path) whose pages may open a socket.io
   * connection besides the service's own origin.
   */
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s, ctx) => {
      const origins: string[] = [];
      for (const item of s.split(",")) {
        if (!item.trim()) continue;
        const origin = normaliseOrigin(item.trim());
        if (origin !== null) origins.push(origin);
        else ctx.addIssue({ code: "custom", input: item, message: `"${item.trim()}" ${ORIGIN_EXPECTED}` });
      }
      return origins;
    }),
  /** Serve the operator's dashboard. */
  DASHBOARD: z.enum(["on", "off"], { error: "must be on or off" }).default("off").transform((v) => v === "on"),
}).refine((c) => !c.DASHBOARD || c.API_TOKENS.length > 0, {
  // The dashboard lists job ids, which are the only key to a job: it never runs open.
  path: ["DASHBOARD"],
  message: "on needs API_TOKENS: the dashboard lists every job's id, so it is never served without a token",
}).superRefine(checkTaskConfig);
export type AppConfig = Readonly<z.infer<typeof appConfigSchema>>;

/** The web process's configuration, validated once at start. */
export function loadAppConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  return parseConfig(appConfigSchema, env);
}
