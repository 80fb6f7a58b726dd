/**
 * RabbitMQ endpoints for a cluster: RABBITMQ_URL may list several nodes (comma-separated), and
 * amqplib's connection recovery (the one reconnect mechanism) dials whichever this rotation
 * names at that moment. amqplib reads the endpoint object it was given at every attempt, so the
 * rotation moves that one object to the next node after a failed attempt or a lost connection.
 */

/** What amqplib's `connect` accepts instead of a URL string (its documented object form). */
export interface AmqpEndpoint {
  protocol: "amqp" | "amqps";
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  locale?: string;
}

/** The URLs of RABBITMQ_URL, in order (one, or several nodes of one cluster). */
export function splitAmqpUrls(value: string): string[] {
  return value
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);
}

/** One amqp(s):// URL as amqplib's endpoint object (the same fields amqplib takes from a URL). */
export function endpointOf(url: string): AmqpEndpoint {
  const u = new URL(url);
  const amqps = u.protocol === "amqps:";
  const number = (name: string) => {
    const v = u.searchParams.get(name);
    return v === null || v === "" || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  return {
    protocol: amqps ? "amqps" : "amqp",
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : amqps ? 5671 : 5672,
    // An URL without credentials means guest:guest, as amqplib's own URL parsing has it.
    username: u.username ? decodeURIComponent(u.username) : "guest",
    password: u.username || u.password ? decodeURIComponent(u.password) : "guest",
    // "amqp://host" and "amqp://host/" both mean the default vhost "/".
    vhost: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : "/",
    heartbeat: number("heartbeat"),
    frameMax: number("frame_max") ?? number("frameMax"),
    channelMax: number("channel_max") ?? number("channelMax"),
    locale: u.searchParams.get("locale") ?? undefined,
  };
}

export interface EndpointRotation {
  /** The object to hand to amqplib.connect: it always describes the node to dial next. */
  endpoint: AmqpEndpoint;
  /** The URL of the node `endpoint` names now (for logs; redact it). */
  current(): string;
  /** Moves `endpoint` to the next node of the list (a no-op with one URL). */
  advance(): void;
}

export function createEndpointRotation(urls: string[]): EndpointRotation {
  if (urls.length === 0) throw new Error("no RabbitMQ URL");
  let index = 0;
  const endpoint = endpointOf(urls[0]!);
  return {
    endpoint,
    current: () => urls[index]!,
    advance() {
      if (urls.length === 1) return;
      index = (index + 1) % urls.length;
      const next = endpointOf(urls[index]!);
      for (const key of Object.keys(endpoint) as Array<keyof AmqpEndpoint>) delete endpoint[key];
      Object.assign(endpoint, next);
    },
  };
}
