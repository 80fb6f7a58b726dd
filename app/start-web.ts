import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, type AppDeps } from "./create-app.js";
import { attachRealtime } from "./realtime.js";

/** A listening web process. */
export interface WebServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** How long in-flight responses may take to finish once shutdown starts. */
const CLOSE_GRACE_MS = 5000;

/** Creates the HTTP server for the app, attaches socket.io, and listens on config PORT/HOST. */
export async function startWeb(deps: AppDeps): Promise<WebServer> {
  const app = createApp(deps);
  const server = createServer(app.callback());
  // Keep-alive longer than a typical proxy's, so the proxy closes idle sockets first.
  server.keepAliveTimeout = 65_000;
  const realtime = await attachRealtime({
    server,
    store: deps.store,
    logger: deps.logger,
    allowedOrigins: deps.config.ALLOWED_ORIGINS,
    trustProxy: deps.config.TRUST_PROXY,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(deps.config.PORT, deps.config.HOST, () => resolve());
    });
  } catch (err) {
    await realtime.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    // Closes the sockets and the relay, then the HTTP server (realtime.close does both). A
    // response still streaming after CLOSE_GRACE_MS (a client that stopped reading a PDF) is cut,
    // so a stuck client cannot hold the shutdown until the force-quit timer.
    close: async () => {
      const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      try {
        await realtime.close();
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
