import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy to a real service, so a test can take "the network to RabbitMQ/Redis"
 * away from one process (cut) and give it back (restore) without stopping the shared service.
 */
export interface TcpProxy {
  port: number;
  /** Stops listening and drops every open connection. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Holds every byte in both directions, connections left open (a hung network path). */
  pause(): void;
  /** Delivers what pause() held, in order, and forwards again. */
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy from a free loopback port to `target` (a URL's host and port). */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  let paused = false;
  /** What pause() holds: each chunk with the socket it is for. */
  const held: Array<[Socket, Buffer]> = [];
  const forward = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (paused) held.push([to, chunk]);
      else to.write(chunk);
    });
    from.on("end", () => to.end());
  };

  const listen = async () => {
    const s = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on("close", () => sockets.delete(sock));
        sock.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      forward(client, upstream);
      forward(upstream, client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };

  const cut = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise((r) => s.close(r));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    cut,
    restore: listen,
    pause: () => void (paused = true),
    resume() {
      paused = false;
      for (const [to, chunk] of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    close: cut,
  };
}
