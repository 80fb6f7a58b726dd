import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.js";

/**
 * The worker's only HTTP surface: GET /healthz, so the image's one HEALTHCHECK works in a worker
 * container too. Liveness only (the event loop answers); bound to loopback, since the probe runs
 * inside the container.
 */
export async function startHealthServer(opts: {
  port: number;
  host?: string;
  logger: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const ok = (req.method === "GET" || req.method === "HEAD") && req.url?.split("?")[0] === "/healthz";
    res.writeHead(ok ? 200 : 404, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : JSON.stringify(ok ? { status: "ok" } : { error: "Not found." }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  opts.logger.info({ port }, "worker health endpoint listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
