import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../errors.js";
import { decodeFlat } from "./codec.js";
import type { FeedEvents, JobRecord } from "./types.js";

/** How the Redis change feed checks its connection while a subscriber wants to hear of gaps. */
export interface FeedHeartbeat {
  /** How often a PING goes out on the subscriber connection; default 250 ms. */
  everyMs?: number;
  /** An unanswered PING older than this reports a gap; default 750 ms. */
  timeoutMs?: number;
}

/**
 * SUBSCRIBEs `listener` to `channel` on `subscriber` (see JobStore.subscribe). Resolves once the
 * first SUBSCRIBE is acknowledged; rejects if the connection ends for good first.
 *
 * Gaps, when `events` asks for them: a dropped connection ("close") is one; so is a PING on the
 * subscriber connection left unanswered past `heartbeat.timeoutMs`, since a hung server or network
 * path keeps the socket open and says nothing. The feed resumes when a SUBSCRIBE is acknowledged
 * on a fresh connection, or when the late PONG arrives on the same one: Redis answers a connection
 * in order, so every message published before the PONG has arrived before it, and nothing was lost.
 */
export async function subscribeFeed(
  opts: { subscriber: Redis; channel: string; heartbeat?: FeedHeartbeat },
  listener: (record: JobRecord) => void,
  events: FeedEvents = {},
): Promise<() => Promise<void>> {
  const { subscriber, channel } = opts;
  const everyMs = opts.heartbeat?.everyMs ?? 250;
  const timeoutMs = opts.heartbeat?.timeoutMs ?? 750;
  const wantsGaps = Boolean(events.onGap || events.onResume);
  let live = false;
  let started = false;
  const gap = () => {
    if (!live) return;
    live = false;
    events.onGap?.();
  };
  const resume = () => {
    if (live) return;
    live = true;
    if (started) events.onResume?.();
  };

  const onMessage = (ch: string, payload: string) => {
    if (ch !== channel) return;
    const record = decodeFlat(JSON.parse(payload) as string[]);
    if (record) listener(record);
  };
  // SUBSCRIBE again on every "ready", not once: ioredis re-subscribes after a reconnect only what it
  // had subscribed, and a SUBSCRIBE sent while Redis is away (a start in any order) fails and is
  // forgotten. Subscribing twice to one channel is harmless.
  let first!: { resolve: () => void; reject: (err: Error) => void };
  const subscribed = new Promise<void>((resolve, reject) => (first = { resolve, reject }));
  let retry: NodeJS.Timeout | undefined;
  const attempt = () => {
    clearTimeout(retry);
    subscriber.subscribe(channel).then(
      () => {
        subscribedOn = connection;
        resume();
        started = true;
        first.resolve();
      },
      () => {
        // Failed on a connection that still says "ready" (a hung server): try again shortly.
        if (subscriber.status === "ready") retry = setTimeout(attempt, 1000).unref();
      },
    );
  };
  // One PING at a time, only on a connection with an acknowledged SUBSCRIBE; `connection` counts
  // connections, so a late PONG of an earlier one resumes nothing.
  let connection = 0;
  let subscribedOn = -1;
  let pingSentAt = 0;
  const onClose = () => {
    connection++;
    pingSentAt = 0;
    gap();
  };
  const beat = () => {
    if (pingSentAt) {
      if (performance.now() - pingSentAt > timeoutMs) gap();
      return;
    }
    if (subscriber.status !== "ready" || subscribedOn !== connection) return;
    const sentOn = connection;
    // Monotonic, and never 0 (0 means no ping in flight): a stepped wall clock is no gap.
    pingSentAt = performance.now() || 1;
    subscriber.ping().then(
      () => {
        if (sentOn !== connection) return;
        pingSentAt = 0;
        resume();
      },
      () => {
        if (sentOn === connection) pingSentAt = 0;
      },
    );
  };
  const heartbeat = wantsGaps ? setInterval(beat, Math.min(everyMs, timeoutMs / 2)) : undefined;
  heartbeat?.unref();
  // "end": closed for good (store.close), so a caller still waiting for the feed hears it.
  const onEnd = () => {
    clearInterval(heartbeat);
    first.reject(new StoreUnavailableError());
  };
  subscriber.on("message", onMessage);
  subscriber.on("ready", attempt);
  subscriber.on("close", onClose);
  subscriber.once("end", onEnd);
  if (subscriber.status === "ready") attempt();
  const unsubscribe = async () => {
    clearTimeout(retry);
    clearInterval(heartbeat);
    subscriber.off("ready", attempt);
    subscriber.off("close", onClose);
    subscriber.off("end", onEnd);
    subscriber.off("message", onMessage);
    if (subscriber.listenerCount("message") === 0) await subscriber.unsubscribe(channel).catch(() => {});
  };
  try {
    await subscribed;
  } catch (err) {
    await unsubscribe();
    throw err;
  }
  return unsubscribe;
}
