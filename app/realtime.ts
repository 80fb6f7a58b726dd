import type { Server as HttpServer } from "node:http";
import { Server as IoServer, type Socket } from "socket.io";
import { TERMINAL_STATES } from "../tasks/contract.js";
import type { Logger } from "../tasks/logger.js";
import type { JobRecord, JobStore } from "../tasks/store/types.js";
import { describeError } from "./errors.js";
import { loadJob, parseJobId, progressBody, type ProgressBody } from "./job-view.js";
import { helmetHeaders } from "./middleware/security.js";
import { originCheck } from "./socket-origin.js";

/** How many jobs one socket may follow; a progress page needs one. */
const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;

/** Reads in flight at once when a feed gap is caught up (one per followed job). */
const CATCH_UP_READS_AT_ONCE = 50;

/** What a `subscribe` acknowledgement carries. */
export type SubscribeAck = { ok: true } | { ok: false; error: string; status: number };

/** socket.io on the web process: `subscribe` + ack, one room per job, store changes relayed. */
export interface Realtime {
  io: IoServer;
  /** Stops relaying, disconnects every socket and closes the HTTP server. */
  close(): Promise<void>;
}

const room = (jobid: string) => `job:${jobid}`;

/**
 * Orders what one socket has been sent for one job: progress never decreases and a final state is
 * last. The relay and the first "current state" read race (a Redis read can be newer than a
 * PUBLISH still in flight), so each socket keeps the rank it has seen and drops anything older.
 */
const rank = (body: ProgressBody) => (TERMINAL_STATES.has(body.state) ? 2 : body.progress);

function sendIfNewer(socket: Socket, body: ProgressBody): void {
  const sent = socket.data.sent as Map<string, number>;
  const last = sent.get(body.jobid);
  if (last !== undefined && (last === 2 || rank(body) < last)) return;
  sent.set(body.jobid, rank(body));
  socket.emit("progress", body);
}

/**
 * socket.io answers its own paths (the client file, polling, the handshake and its refusals)
 * before Koa sees the request, so Koa's securityHeaders middleware never runs for them. A
 * 'request' listener put in front of socket.io's sets the same list on the responses of those
 * paths (engine.io and socket.io take every URL under `${io.path()}/`; Koa's own responses get
 * the list from its middleware, once: setting it twice cost every request ~1.3 kB of garbage);
 * engine.io's 'headers' event adds it to the WebSocket upgrade, which ws writes itself.
 * Must run after socket.io attached: attaching wraps the listeners that exist at that moment.
 */
function sendSecurityHeaders(server: HttpServer, io: IoServer): void {
  const headers = helmetHeaders();
  const own = `${io.path()}/`;
  server.prependListener("request", (req, res) => {
    if (req.url?.startsWith(own)) for (const [name, value] of headers) res.setHeader(name, value);
  });
  io.engine.on("headers", (out: Record<string, string>, req: { headers: Record<string, unknown> }) => {
    if (req.headers.upgrade) for (const [name, value] of headers) out[name] = value;
  });
}

/**
 * Attaches socket.io to `server` and relays every job change to the sockets following that job.
 *
 * Cross-process delivery uses the JobStore's own change feed (`store.subscribe`: Redis PUBLISH on
 * one channel, or an EventEmitter in memory mode) rather than the socket.io Redis adapter:
 * - the store already publishes every change from every worker, so the adapter would add a second
 *   publish path (workers would need @socket.io/redis-emitter) carrying the same bytes;
 * - it works unchanged in the embedded in-memory mode, where there is no Redis;
 * - each web process sees the record itself and can keep per-socket ordering (sendIfNewer), which
 *   an adapter broadcast cannot;
 * - the fan-out is the same (the adapter also delivers every broadcast to every web process).
 * The page uses the WebSocket transport only, so several web processes need no sticky sessions.
 * HTTP long-polling stays enabled for other clients that connect to one process directly.
 *
 * Only the service's own origin and `allowedOrigins` may connect (socket-origin.ts); with
 * `trustProxy` the own origin is read from X-Forwarded-Proto/-Host.
 */
export async function attachRealtime(deps: {
  server: HttpServer;
  store: JobStore;
  logger: Logger;
  /** ALLOWED_ORIGINS; none by default (same origin only). */
  allowedOrigins?: readonly string[];
  /** TRUST_PROXY. */
  trustProxy?: boolean;
}): Promise<Realtime> {
  const { store, logger } = deps;
  const io = new IoServer(deps.server, {
    // The page loads /socket.io/socket.io.min.js from here: no CDN, works offline.
    serveClient: true,
    // Messages are small JSON objects; refuse anything bigger.
    maxHttpBufferSize: 16 * 1024,
    // engine.io asks on every handshake, polling and WebSocket upgrade alike.
    allowRequest: originCheck({ allowedOrigins: deps.allowedOrigins ?? [], trustProxy: deps.trustProxy ?? false }),
  });
  sendSecurityHeaders(deps.server, io);

  io.on("connection", (socket) => {
    socket.data.sent = new Map<string, number>();

    socket.on("subscribe", async (payload: unknown, ack?: unknown) => {
      const reply = typeof ack === "function" ? (ack as (a: SubscribeAck) => void) : () => {};
      const raw = typeof payload === "string" ? payload : (payload as { jobid?: unknown } | null)?.jobid;
      try {
        if (socket.rooms.size > MAX_SUBSCRIPTIONS_PER_SOCKET) {
          reply({ ok: false, error: "Too many jobs followed on one connection.", status: 429 });
          return;
        }
        // Join first, then read: a change made after the read reaches us through the relay, and
        // sendIfNewer drops whichever of the two arrives stale. A malformed id never joins; an
        // unknown or expired one leaves again at once.
        const jobid = parseJobId(raw);
        await socket.join(room(jobid));
        let current;
        try {
          current = await loadJob(store, jobid);
        } catch (err) {
          await socket.leave(room(jobid));
          throw err;
        }
        reply({ ok: true });
        sendIfNewer(socket, progressBody(current));
      } catch (err) {
        const { status, body, expose } = describeError(err);
        if (!expose) logger.error({ err }, "socket subscribe failed");
        reply({ ok: false, error: body.error, status });
      }
    });

    socket.on("unsubscribe", async (payload: unknown) => {
      const raw = typeof payload === "string" ? payload : (payload as { jobid?: unknown } | null)?.jobid;
      if (typeof raw !== "string") return;
      const jobid = raw.toLowerCase();
      await socket.leave(room(jobid));
      (socket.data.sent as Map<string, number>).delete(jobid);
    });
  });

  // One subscription per web process; each process relays to its own sockets only.
  const relay = (record: JobRecord) => {
    const members = io.sockets.adapter.rooms.get(room(record.jobid));
    if (!members?.size) return;
    const body = progressBody(record);
    for (const id of members) {
      const socket = io.sockets.sockets.get(id);
      if (socket) sendIfNewer(socket, body);
    }
  };
  /**
   * After a gap in the feed (its connection dropped or hung), the changes it hid are read back for
   * every job a socket here follows: a final state published into the gap would otherwise never
   * reach the page, whose socket stayed connected. sendIfNewer drops what a socket already has.
   */
  const catchUp = async () => {
    const ids = [...io.sockets.adapter.rooms.keys()].filter((r) => r.startsWith("job:")).map((r) => r.slice(4));
    for (let i = 0; i < ids.length; i += CATCH_UP_READS_AT_ONCE) {
      const records = await Promise.all(ids.slice(i, i + CATCH_UP_READS_AT_ONCE).map((id) => store.get(id)));
      for (const record of records) if (record) relay(record);
    }
  };
  const unsubscribe = await store.subscribe(relay, {
    onResume: () =>
      void catchUp().catch((err) => logger.warn({ err: describeError(err).body.error }, "could not re-read followed jobs after a feed gap")),
  });

  let closing: Promise<void> | undefined;
  return {
    io,
    close() {
      closing ??= (async () => {
        await unsubscribe().catch((err) => logger.warn({ err }, "store unsubscribe failed"));
        // io.close() disconnects every socket, then closes the HTTP server it is attached to.
        const closed = io.close();
        deps.server.closeIdleConnections();
        await closed;
      })();
      return closing;
    },
  };
}
