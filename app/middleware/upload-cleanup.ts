import { unlink } from "node:fs/promises";
import type { Context, Next } from "koa";

/** Deletes the temp files koa-body (formidable) wrote for a multipart request once it is answered. */
export function uploadCleanup() {
  return async function cleanUploads(ctx: Context, next: Next) {
    try {
      await next();
    } finally {
      const files = (ctx.request as { files?: Record<string, unknown> }).files;
      if (files) {
        const paths = Object.values(files)
          .flat()
          .map((f) => (f as { filepath?: unknown } | null)?.filepath)
          .filter((p): p is string => typeof p === "string");
        await Promise.all(paths.map((p) => unlink(p).catch(() => {})));
      }
    }
  };
}
