import type { IncomingMessage } from "node:http";
import type { Context, Next } from "koa";

/** Past this many unread bytes after the answer, the connection is dropped instead. */
const DISCARD_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Reads and drops whatever the client is still sending, unparsed, so that it reads the answer it
 * was given (a 413 sent while the upload is still arriving); closing the connection at once would
 * reset it and the client would never see the answer. A client that keeps sending past
 * DISCARD_LIMIT_BYTES loses its connection.
 */
export function discardRest(req: IncomingMessage): void {
  if (req.complete || req.destroyed) return;
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}

/**
 * Middleware: once a request is answered, any body left unread (a parser that hit its limit, a
 * request refused before its body was read) is discarded as above.
 */
export function discardUnreadBody() {
  return async function discardBody(ctx: Context, next: Next) {
    try {
      await next();
    } finally {
      // Not flowing: paused by a parser that stopped at a limit (false), or never read (null) —
      // which Node would drain by itself, but without any bound.
      if (!ctx.req.complete && ctx.req.readableFlowing !== true) discardRest(ctx.req);
    }
  };
}
