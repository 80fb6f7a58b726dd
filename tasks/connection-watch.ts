import type { RecoveringChannelModel } from "amqplib";
import type { Redis } from "ioredis";
import { redactUrl, type Logger } from "./logger.js";

/**
 * A connection failure that retrying cannot fix (wrong credentials, unknown vhost): the sentence
 * an operator needs, or null for a failure worth retrying (refused, reset, DNS, timeout).
 * amqplib reports the broker's close as "… 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - …"".
 */
export function rabbitConfigFault(err: Error | undefined): string | null {
  const message = err?.message ?? "";
  if (/ACCESS[-_]REFUSED/.test(message)) {
    return "RabbitMQ refused the credentials in RABBITMQ_URL (ACCESS_REFUSED); fix the user or password";
  }
  if (/NOT[-_]ALLOWED/.test(message) && /vhost/i.test(message)) {
    return "RabbitMQ has no such virtual host, or the user may not use it (NOT_ALLOWED); fix the vhost in RABBITMQ_URL";
  }
  return null;
}

/** The same for Redis: a wrong password (WRONGPASS) or none where one is required (NOAUTH). */
export function redisConfigFault(err: Error | undefined): string | null {
  const message = err?.message ?? "";
  if (message.startsWith("WRONGPASS")) {
    return "Redis refused the credentials in REDIS_URL (WRONGPASS); fix the user or password";
  }
  if (message.startsWith("NOAUTH")) {
    return "Redis requires a password and REDIS_URL gives none (NOAUTH); add it to REDIS_URL";
  }
  return null;
}

/**
 * Logs a recovering amqplib connection's state changes: one warn line when it becomes unreachable,
 * one info line when it connects; each retry in between only at debug. A configuration fault goes
 * to `onFatal` instead (the entry file decides to exit).
 */
export function watchRabbit(
  connection: RecoveringChannelModel,
  opts: { logger: Logger; url: () => string; onFatal: (message: string) => void },
): void {
  const { logger } = opts;
  let down = false;
  connection.on("connect", () => {
    down = false;
    logger.info({ url: redactUrl(opts.url()) }, "rabbitmq connected");
  });
  connection.on("disconnect", (err: Error) => {
    down = true;
    logger.warn({ err: err?.message, url: redactUrl(opts.url()) }, "rabbitmq disconnected; reconnecting");
  });
  connection.on("connect-failed", (err: Error) => {
    const fault = rabbitConfigFault(err);
    if (fault) return opts.onFatal(fault);
    if (down) return logger.debug({ err: err.message }, "rabbitmq not reachable; retrying");
    down = true;
    logger.warn({ err: err.message, url: redactUrl(opts.url()) }, "rabbitmq not reachable; retrying");
  });
  connection.on("reconnect-scheduled", ({ attempt, delay }: { attempt: number; delay: number }) =>
    logger.debug({ attempt, delay }, "rabbitmq reconnect scheduled"),
  );
  connection.on("error", (err: Error) => logger.warn({ err: err.message }, "rabbitmq connection error"));
}

/**
 * Logs a Redis client's state changes the same way: ioredis emits "error" on every failed
 * reconnection attempt, so only the first one after "ready" is a warn line.
 */
export function watchRedis(client: Redis, opts: { logger: Logger; name: string }): void {
  const { logger, name } = opts;
  let down = false;
  client.on("ready", () => {
    down = false;
    logger.info({ redis: name }, "redis ready");
  });
  client.on("error", (err: Error) => {
    if (redisConfigFault(err)) return; // reported once, as fatal, by whoever passed onFatal
    if (down) return logger.debug({ err: err.message, redis: name }, "redis connection error");
    down = true;
    logger.warn({ err: err.message, redis: name }, "redis connection error");
  });
}
