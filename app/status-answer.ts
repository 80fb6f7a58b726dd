import { createHash } from "node:crypto";
import type { Context } from "koa";
import { TERMINAL_STATES } from "../tasks/contract.js";
import type { JobRecord } from "../tasks/store/types.js";
import { etagMatches, preferredWait } from "./http-preferences.js";
import type { JobCache } from "./job-cache.js";
import { markQuiet } from "./middleware/request-log.js";

/** How a status route shows a job. */
export interface StatusView {
  status: number;
  /**
   * Everything the body shows, cheaply (the ETag is its hash). For a finished batch that is the
   * body without its rows: they are written once, before the job's SUCCESS, so the record fixes them.
   */
  shown: unknown;
  /** The body itself (may read the store: a finished batch's rows). */
  body(): unknown;
}

/** Ties a body to its route, so equal-looking bodies of two routes never share a tag. */
const etagOf = (route: string, shown: unknown) =>
  `"${createHash("sha256").update(route).update("\0").update(JSON.stringify(shown)).digest("base64url").slice(0, 32)}"`;

/**
 * Answers a status request (GET /progress, GET /predict/{id}) with a strong ETag and
 * `Cache-Control: private, no-cache` (clients revalidate every time; If-None-Match of the current
 * tag → 304), and honours `Prefer: wait=N` (long polling): when the job is not finished and the
 * client's If-None-Match (if any) is the current tag, the answer waits for the job's next visible
 * change, at most N seconds (≤ 60). `Preference-Applied: wait=N` says the wait was honoured (also
 * when there was nothing to wait for); it is absent when the process declines to wait (its
 * waiting requests are at the cap, or its change feed is down). A feed gap ends a wait early with
 * a fresh store read, so a Redis outage gets the same 503 as a plain request. A client that goes
 * away releases its wait at once.
 */
export async function answerStatus(
  ctx: Context,
  opts: {
    jobs: JobCache;
    /** Validates the raw id and loads the job (400/404/410/503 as the route words them). */
    load: (rawId: unknown) => Promise<JobRecord>;
    view: (record: JobRecord) => StatusView;
    rawId: unknown;
    /** The route's path pattern: part of the ETag. */
    route: string;
  },
): Promise<void> {
  const { route } = opts;
  markQuiet(ctx);
  const ifNoneMatch = ctx.get("If-None-Match") || undefined;
  const wait = preferredWait(ctx.get("Prefer") || undefined);
  let record = await opts.load(opts.rawId);
  let view = opts.view(record);
  let tag = etagOf(route, view.shown);
  let applied = false;
  const waitable = !TERMINAL_STATES.has(record.state) && (!ifNoneMatch || etagMatches(ifNoneMatch, tag));
  const watch = wait && waitable ? opts.jobs.watch(record.jobid) : null;
  if (wait && (!waitable || watch)) applied = true;
  if (watch) {
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ctx.res.once("close", onClose);
    // On the monotonic clock: a wall clock stepped back must not stretch the wait past N seconds.
    const deadline = performance.now() + wait! * 1000;
    const baseline = tag;
    try {
      // Read again after the watch exists: a change between the first read and the watch is not missed.
      for (let last = false; ; ) {
        record = await opts.load(record.jobid);
        view = opts.view(record);
        tag = etagOf(route, view.shown);
        if (last || tag !== baseline || TERMINAL_STATES.has(record.state)) break;
        const wake = await watch.next(deadline - performance.now(), gone.signal);
        if (wake === "aborted") break; // nobody to answer; the write below goes nowhere
        last = wake !== "change";
      }
    } finally {
      watch.release();
      ctx.res.off("close", onClose);
    }
  }
  if (applied) ctx.set("Preference-Applied", `wait=${wait}`);
  ctx.set("ETag", tag);
  ctx.set("Cache-Control", "private, no-cache");
  if (etagMatches(ifNoneMatch, tag)) {
    ctx.status = 304;
    return;
  }
  ctx.status = view.status;
  ctx.body = await view.body();
}
