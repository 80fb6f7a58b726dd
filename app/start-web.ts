import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createApp, type AppDeps } from "./create-app.js";
import { createJobCache } from "./job-cache.js";
import { attachRealtime, type Realtime } from "./realtime.js";

/** A listening web process. */
export interface WebServer {
  server: Server;
  port: number;
  /**
   * Resolves once socket.io relays job changes (the store's change feed is subscribed). The server
   * listens and answers before that: with the store away, requests get 503 and /healthz 200.
   */
  live: Promise<void>;
  close(): Promise<void>;
}

/** How long in-flight responses may take to finish once shutdown starts. */
const CLOSE_GRACE_MS = 5000;

/** Creates the HTTP server for the app, attaches socket.io, and listens on config PORT/HOST. */
export async function startWeb(deps: AppDeps): Promise<WebServer> {
  // Made here, not in createApp, so shutdown can answer the requests waiting on it (Prefer: wait).
  const jobs = deps.jobs ?? createJobCache({ store: deps.store, ttlSeconds: deps.config.RESULT_TTL_SECONDS });
  const app = createApp({ ...deps, jobs });
  const server = createServer(app.callback());
  // Keep-alive longer than a typical proxy's, so the proxy closes idle sockets first.
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // Not awaited: attachRealtime attaches socket.io to the server at once (synchronously) but
  // resolves only when the store's change feed is live, which may be long after the web listens
  // (start in any order). It rejects if the store is closed first.
  let realtime: Realtime | undefined;
  let closing: Promise<void> | undefined;
  const attaching = attachRealtime({
    server,
    store: deps.store,
    logger: deps.logger,
    allowedOrigins: deps.config.ALLOWED_ORIGINS,
    trustProxy: deps.config.TRUST_PROXY,
  }).then((r) => {
    realtime = r;
    if (closing) void r.close();
  });
  attaching.catch(() => {});
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(deps.config.PORT, deps.config.HOST, () => resolve());
    });
  } catch (err) {
    await (realtime?.close() ?? closeServer(server, sockets));
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    live: attaching,
    // Closes the sockets and the relay, then the HTTP server (realtime.close does both). A
    // response still streaming after CLOSE_GRACE_MS (a client that stopped reading a PDF) is cut,
    // so a stuck client cannot hold the shutdown until the force-quit timer.
    close: () =>
      (closing ??= (async () => {
        const cut = setTimeout(() => {
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy(); // upgraded ones too
        }, CLOSE_GRACE_MS);
        try {
          await jobs.close(); // waiting requests answer now, so closing need not wait for them
          // Without a live feed there is no relay to stop and no socket.io handle: end it all here.
          await (realtime ? realtime.close() : closeServer(server, sockets));
        } finally {
          clearTimeout(cut);
        }
      })()),
  };
}

/** Stops listening and ends every connection, socket.io's upgraded ones included. */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    for (const socket of sockets) socket.end();
    // A socket that does not finish within the grace period is cut by the caller's timer.
  });
}
